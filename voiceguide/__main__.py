"""``python -m voiceguide``: the same command as the ``voiceguide`` console script."""

import sys

from voiceguide.cli import main

sys.exit(main())
