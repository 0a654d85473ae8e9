"""How every benchmark prints its figures: aligned lines, or one JSON object."""

from __future__ import annotations

import json
from collections.abc import Mapping


def emit(report: Mapping[str, object], as_json: bool) -> None:
    if as_json:
        print(json.dumps(report))
        return
    width = max(len(k) for k in report) + 2
    for key, value in report.items():
        print(f"{key:{width}s}{value}")
