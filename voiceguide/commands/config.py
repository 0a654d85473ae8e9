"""``voiceguide config``: the settings file a person edits instead of exporting variables."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, get_args

from annotated_types import Ge, Le

from voiceguide.config import (
    BOUNDED,
    ENV_PREFIX,
    FILE_KEYS,
    ConfigError,
    Engine,
    Settings,
    config_path,
    load_settings,
    origins,
    read_config_file,
)

HELP = f"""\
voiceguide reads its settings from, in order of precedence:
  1. command-line options (for one run)
  2. environment variables {ENV_PREFIX}<SETTING>, e.g. {ENV_PREFIX}VOLUME=0.6
  3. the config file: {config_path()}
  4. built-in defaults
A broken file stops every command with one line naming the file, the key and the reason
(exit code 2); `voiceguide check` reports it as a failure instead.

The file may set: {", ".join(FILE_KEYS)}.
"""

#: What each setting the file may hold does, for the comments of a new file.
DESCRIPTIONS: dict[str, str] = {
    "language": "content language, a folder under prompts/",
    "region": "region whose emergency number is spoken (unset: the language's own)",
    "emergency_number": "spoken instead of the region's number, e.g. a care home's own line",
    "speech_rate": "speaking speed, 1 is normal",
    "volume": "loudness, 1 is the most",
    "count_period_s": "seconds between hold counts",
    "answer_timeout_s": "seconds of silence after a question that count as no answer",
    "input_device": "microphone, by name or number (see `voiceguide devices`)",
    "output_device": "speaker, by name or number (see `voiceguide devices`)",
    "engine": "speech recognizer",
}

#: Shown, commented out, in a new file for settings whose default is "not set".
EXAMPLES: dict[str, str] = {
    "region": '"GB"',
    "emergency_number": '"112"',
    "input_device": '"USB"',
    "output_device": "2",
}

#: Option destinations that name a setting, so the file can give their defaults.
OPTION_SETTINGS: dict[str, str] = {
    "lang": "language",
    "engine": "engine",
    "input_device": "input_device",
    "output_device": "output_device",
}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "config",
        help="show the settings in effect and where each comes from; write a config file",
        description=HELP,
        epilog="examples:\n  voiceguide config init      then edit the file it names\n"
        "  voiceguide config show",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    show = verbs.add_parser(
        "show", help="the effective settings and where each came from (file, environment, default)"
    )
    show.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    show.set_defaults(func=_show)
    init = verbs.add_parser("init", help="write a commented config file to edit")
    init.add_argument("--force", action="store_true", help="replace an existing file")
    init.set_defaults(func=_init)


def use_as_defaults(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], settings: Settings
) -> None:
    """Make the file's (and environment's) language, engine and devices the defaults of the
    commands' own options, so an option typed on the command line still wins."""
    values: dict[str, Any] = {
        dest: getattr(settings, name) for dest, name in OPTION_SETTINGS.items()
    }
    for parser in sub.choices.values():
        # An option whose default is None (a device) is set only when the file names one.
        wanted = {
            dest: value
            for dest, value in values.items()
            if value is not None and (parser.get_default(dest) is not None or "device" in dest)
        }
        parser.set_defaults(**wanted)


def config_line() -> tuple[str, str, str, str]:
    """``check``'s line about the config file: status, name, detail, fix."""
    path = config_path()
    try:
        data = read_config_file(path)
        settings = load_settings()
    except ConfigError as exc:
        return "FAIL", "config", str(exc), "correct it, or `voiceguide config init --force`"
    known = _regions_of(settings.language)
    if settings.region and known and settings.region not in known:
        where = origins()["region"]
        return (
            "FAIL",
            "config",
            f"region {settings.region!r} (from {where}) has no emergency number",
            f"use one of {', '.join(known)}",
        )
    if not path.is_file():
        return (
            "INFO",
            "config",
            f"no file at {path}; defaults in use (`voiceguide config init`)",
            "",
        )
    sets = ", ".join(data) if data else "nothing (every line is commented out)"
    return "PASS", "config", f"{path} sets {sets}", ""


def _show(args: argparse.Namespace) -> int:
    path = config_path()
    try:
        settings = load_settings()
        where = origins()
    except ConfigError as exc:
        print(f"voiceguide config: {exc}", file=sys.stderr)
        return 2
    values = settings.model_dump()
    if args.json:
        out = {
            "file": str(path),
            "file_exists": path.is_file(),
            "settings": {k: {"value": v, "from": where[k]} for k, v in values.items()},
        }
        print(json.dumps(out, indent=2))
        return 0
    state = "" if path.is_file() else "  (no such file: `voiceguide config init` writes one)"
    print(f"config file: {path}{state}")
    width = max(len(k) for k in values)
    tuning = [k for k in values if k not in FILE_KEYS]
    for title, keys in (("", FILE_KEYS), ("tuning, by environment variable only:", tuning)):
        if title:
            print(title)
        for key in keys:
            shown = "-" if values[key] is None else str(values[key])
            origin = f"file {path.name}" if where[key] == "file" else where[key]
            print(f"  {key:{width}s}  {shown:12s}  {origin}")
    print("Command-line options override these for one run (see `voiceguide run --help`).")
    return 0


def _init(args: argparse.Namespace) -> int:
    path = config_path()
    if path.exists() and not args.force:
        print(
            f"voiceguide config: {path} exists; `voiceguide config show` prints what it sets, "
            "and --force replaces it",
            file=sys.stderr,
        )
        return 1
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(commented_file(), encoding="utf-8")
    except OSError as exc:
        print(f"voiceguide config: cannot write {path}: {exc}", file=sys.stderr)
        return 1
    print(f"voiceguide config: wrote {path}; remove the # before a setting to change it")
    return 0


def commented_file() -> str:
    """A config file with every setting it may hold, commented out at its default."""
    lines = [
        "# voiceguide settings. Remove the # before a setting to change it.",
        f"# {ENV_PREFIX}* environment variables and command-line options override this file;",
        "# `voiceguide config show` prints the settings in effect and where each came from.",
    ]
    for key in FILE_KEYS:
        default = Settings.model_fields[key].default
        lines += ["", f"# {DESCRIPTIONS[key]}{_choices(key)}"]
        if default is None:
            lines.append(f"# {key} = {EXAMPLES[key]}")
        else:
            lines.append(f"# {key} = {json.dumps(default)}")
    return "\n".join(lines) + "\n"


def _choices(key: str) -> str:
    if key == "engine":
        return f": {', '.join(get_args(Engine))}"
    if key == "region":
        return _regions()
    fields = Settings.model_fields
    meta = fields[key].metadata
    low = next((m.ge for m in meta if isinstance(m, Ge)), None)
    high = next((m.le for m in meta if isinstance(m, Le)), None)
    if key in BOUNDED:  # the narrower range the bound settings allow by default
        low_key, high_key = BOUNDED[key]
        low = fields[low_key].default
        high = fields[high_key].default if high_key else high
    return f" ({low} to {high})" if low is not None and high is not None else ""


def _regions() -> str:
    known = _regions_of("en")
    return f": {', '.join(known)}" if known else ""


def _regions_of(language: str) -> list[str]:
    """The regions the language's content has an emergency number for ([] if unreadable)."""
    from voiceguide.content import ContentError, load_content

    try:
        return list(load_content(language).locale.emergency_numbers)
    except ContentError:
        return []
