"""Build hook: the wheel carries the top-level ``prompts/`` and ``grammars/`` as
``voiceguide/content/prompts`` and ``voiceguide/content/grammars``, copied as they are at
build time, so an installed voiceguide finds its content with ``importlib.resources``.
The repository keeps one copy, the top-level folders people edit; an editable install
reads them in place (``voiceguide.content.loader.content_root``)."""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
CONTENT = ("prompts", "grammars")


#: Not content: editor backups, hidden files, caches.
NOT_CONTENT = shutil.ignore_patterns("*~", ".*", "*.swp", "__pycache__", "*.py[cod]")


class BuildPyWithContent(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        for name in CONTENT:
            target = Path(self.build_lib, "voiceguide", "content", name)
            shutil.rmtree(target, ignore_errors=True)  # a reused build/ must not keep old files
            shutil.copytree(HERE / name, target, ignore=NOT_CONTENT)


setup(cmdclass={"build_py": BuildPyWithContent})
