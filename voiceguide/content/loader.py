"""Load and validate ``prompts/<lang>/`` and ``grammars/<lang>/``.

Every problem becomes one ``ContentError`` naming the file, the field and what is wrong,
so a broken edit to a sentence never shows a user a traceback.
"""

from __future__ import annotations

import os
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from voiceguide.content.models import (
    Content,
    DemoScript,
    GrammarBook,
    Locale,
    PromptBook,
    Routine,
    Screening,
)

CONTENT_ENV = "VOICEGUIDE_CONTENT_DIR"

#: Which file holds which top-level field, for error messages.
PROMPT_FILES: dict[str, str] = {
    "locale": "locale.toml",
    "prompts": "prompts.toml",
    "screening": "screening.toml",
    "routine": "exercises.toml",
}
GRAMMAR_FILES: dict[str, str] = {
    "phrases": "phrases.toml",
    "grammars": "grammars.toml",
    "understanding": "understanding.toml",
}


M = TypeVar("M", bound=BaseModel)


class ContentError(Exception):
    """A content file is missing or breaks a rule. ``str()`` is the user-facing message."""


def content_root() -> Path:
    """The folder holding ``prompts/`` and ``grammars/``: $VOICEGUIDE_CONTENT_DIR, else the
    copy an installed wheel carries inside this package (setup.py puts it there), else the
    source tree's top-level folders (a clone, or an editable install)."""
    env = os.environ.get(CONTENT_ENV)
    if env:
        return Path(env)
    packaged = resources.files("voiceguide.content")
    # Installed wheels are unpacked on disk, so this is a real folder; a zipped import is
    # not supported and falls through to the message naming the folder that was tried.
    if isinstance(packaged, Path) and (packaged / "prompts").is_dir():
        return packaged
    return Path(__file__).resolve().parents[2]


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ContentError(f"{path}: file not found")
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ContentError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ContentError(f"{path}: not UTF-8 text: {exc}") from None


def _format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


def _explain(exc: ValidationError, files: dict[str, Path], folder: Path) -> ContentError:
    lines = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        head = str(loc[0]) if loc else ""
        where = files.get(head, folder)
        field = _format_loc(loc[1:]) if head in files else _format_loc(loc)
        msg = err["msg"].removeprefix("Value error, ")
        got = err.get("input")
        shown = ""
        if err["type"] not in ("missing", "value_error", "extra_forbidden") and not isinstance(
            got, dict | list
        ):
            shown = f" (got {got!r})"
        if err["type"] == "extra_forbidden":
            msg = "unknown field; check its spelling"
        # One line per problem, even when the content quoted in it holds control characters.
        line = f"{where}: {field or head or '(file)'}: {msg}{shown}"
        lines.append("".join(c if c.isprintable() else repr(c)[1:-1] for c in line))
    return ContentError("\n".join(lines))


def _validate(model: type[M], data: dict[str, Any], files: dict[str, Path], folder: Path) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _explain(exc, files, folder) from None


def load_grammars(lang: str = "en", root: Path | None = None) -> GrammarBook:
    folder = (root or content_root()) / "grammars" / lang
    if not folder.is_dir():
        raise ContentError(f"{folder}: no grammars for language {lang!r}")
    files = {key: folder / name for key, name in GRAMMAR_FILES.items()}
    data: dict[str, Any] = {"language": lang}
    optional = folder / "garbage.toml"
    if optional.is_file():
        doc = _read_toml(optional)
        if set(doc) != {"garbage"} or not isinstance(doc["garbage"], dict):
            raise ContentError(f"{optional}: must hold exactly one table, [garbage]")
        data["garbage"] = doc["garbage"].get("words", [])
        files = {**files, "garbage": optional}
    for key, path in files.items():
        if key == "garbage":
            continue
        doc = _read_toml(path)
        if set(doc) != {key}:
            raise ContentError(f"{path}: must hold exactly one table, [{key}]; found {sorted(doc)}")
        data[key] = doc[key]
    return _validate(GrammarBook, data, files, folder)


def load_content(lang: str = "en", root: Path | None = None) -> Content:
    base = root or content_root()
    folder = base / "prompts" / lang
    if not folder.is_dir():
        raise ContentError(f"{folder}: no prompts for language {lang!r}")
    files = {key: folder / name for key, name in PROMPT_FILES.items()}
    parts: dict[str, BaseModel] = {
        "locale": _validate(Locale, _read_toml(files["locale"]), {}, files["locale"]),
        "prompts": _validate(PromptBook, _read_toml(files["prompts"]), {}, files["prompts"]),
        "screening": _validate(Screening, _read_toml(files["screening"]), {}, files["screening"]),
        "routine": _validate(Routine, _read_toml(files["routine"]), {}, files["routine"]),
    }
    grammars = load_grammars(lang, base)
    try:
        return Content.model_validate({**parts, "grammars": grammars})
    except ValidationError as exc:
        raise _explain(exc, files, folder) from None


def load_demo(lang: str = "en", root: Path | None = None) -> DemoScript:
    path = (root or content_root()) / "prompts" / lang / "demo.toml"
    return _validate(DemoScript, _read_toml(path), {}, path)
