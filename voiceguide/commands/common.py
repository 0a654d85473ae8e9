"""Options shared by the commands that run a session (run, demo)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from voiceguide.config import ConfigError, Settings, load_settings
from voiceguide.content import Content, load_content
from voiceguide.content.loader import CONTENT_ENV


class UsageError(Exception):
    """A bad option value; the message says which and why."""


def add_session_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("session")
    g.add_argument("--lang", default="en", help="content language (folder under prompts/)")
    g.add_argument(
        "--region",
        help="region whose emergency number is spoken, e.g. US, GB, EU, AU "
        "(default: the config file's, else the language's own, US for en)",
    )
    g.add_argument(
        "--emergency-number",
        metavar="NUMBER",
        help="speak this number instead of the region's (e.g. a care home's line): "
        "digits, an optional leading +, up to 15 digits; spaces, dashes, dots and "
        "brackets are dropped. It is spoken digit by digit, the region's number after it",
    )
    g.add_argument(
        "--seed", type=int, help="choose prompt wordings reproducibly (same seed, same words)"
    )
    g.add_argument(
        "--answer-timeout",
        type=float,
        metavar="SECONDS",
        help="silence this long after a question counts as no answer (default 10)",
    )
    g.add_argument(
        "--log",
        type=Path,
        metavar="FILE",
        help="append the session as JSON Lines to FILE (created private, mode 0600)",
    )
    g.add_argument(
        "--content",
        type=Path,
        metavar="DIR",
        help=f"folder holding prompts/ and grammars/ (default: ${CONTENT_ENV} or the install)",
    )


def add_audio_options(p: argparse.ArgumentParser, engine: bool = True) -> None:
    g = p.add_argument_group("audio")
    g.add_argument(
        "--input-device", metavar="NAME|INDEX", help="microphone (see `voiceguide devices`)"
    )
    g.add_argument(
        "--output-device", metavar="NAME|INDEX", help="speaker (see `voiceguide devices`)"
    )
    if engine:
        from voiceguide.speech.select import ENGINES

        g.add_argument(
            "--engine",
            choices=ENGINES,
            default="auto",
            help="recognizer: auto picks Vosk if a model for the language is installed, "
            "else PocketSphinx (English)",
        )


def settings_from(args: argparse.Namespace) -> Settings:
    """The session's settings: these options over the environment, the config file and the
    defaults (``voiceguide config show`` prints the last three)."""
    overrides: dict[str, object] = {"language": args.lang}
    if args.region:
        overrides["region"] = args.region.upper()
    if args.emergency_number:
        # As people write phone numbers: "+44 20 7946-0958", "(555) 123.4567".
        overrides["emergency_number"] = re.sub(r"[\s\-.()]", "", args.emergency_number)
    if args.seed is not None:
        overrides["seed"] = args.seed
    if args.answer_timeout is not None:
        overrides["answer_timeout_s"] = args.answer_timeout
    try:
        return load_settings(overrides)
    except ConfigError as exc:
        if exc.from_options:
            raise UsageError(f"invalid setting: {exc}") from None
        raise  # the environment or the file: reported by the command line's main


def content_from(args: argparse.Namespace) -> Content:
    return load_content(args.lang, args.content)
