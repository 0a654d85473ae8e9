"""The ``voiceguide`` command. Each subcommand lives in ``voiceguide/commands/<name>.py``
(or ``voiceguide/bench/<name>.py`` for ``voiceguide bench <name>``) and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to a callable taking the
parsed arguments and returning an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from voiceguide import __version__
from voiceguide.config import ConfigError, Settings, load_settings
from voiceguide.content import ContentError

#: Order here is the order ``--help`` lists them.
COMMANDS: tuple[str, ...] = (
    "run", "demo", "check", "devices", "say", "listen", "models", "config"
)  # fmt: skip
#: Commands that still work with a broken config file: to report it, or to replace it.
WITH_BROKEN_CONFIG: frozenset[str] = frozenset({"check", "config"})
BENCHES: tuple[str, ...] = (
    "asr", "triage", "emergency", "echo", "latency", "startup", "timing",
)  # fmt: skip

DESCRIPTION = """\
An offline, hands-free voice guide for hip pain.

It first asks a few yes/no safety questions. Any sign of a dislocation or another
emergency leads to calm instructions: stay still, do not try to put the hip back,
call emergency services now. Only after a clear "no" to every question does it
coach gentle exercises, counting holds aloud and obeying spoken commands.
"""

EPILOG = """\
examples:
  voiceguide run --text             the whole session by keyboard (or a pipe)
  voiceguide run                    the hands-free session on microphone and speaker
  voiceguide demo                   watch both routes with a simulated user, no audio hardware
  voiceguide devices                the microphones and speakers found
  voiceguide config init            write a settings file to edit (config show: what is in effect)
  voiceguide <command> --help       more on each command
"""


def build_parser(settings: Settings | None = None) -> argparse.ArgumentParser:
    """``settings`` (from the config file and environment) give the options' defaults."""
    parser = argparse.ArgumentParser(
        prog="voiceguide",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"voiceguide {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"voiceguide.commands.{name}")
        module.register(sub)
    if settings is not None:
        from voiceguide.commands.config import use_as_defaults

        use_as_defaults(sub, settings)  # before `bench`: benchmarks keep fixed defaults
    bench = sub.add_parser(
        "bench",
        help="measure recognition accuracy, reply latency or count timing",
        description="Benchmarks print their figures; --json emits them as one JSON object.",
    )
    bench_sub = bench.add_subparsers(dest="bench", metavar="BENCH", required=True)
    for name in BENCHES:
        module = importlib.import_module(f"voiceguide.bench.{name}")
        module.register(bench_sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    settings: Settings | None = None
    try:
        settings = load_settings()
    except ConfigError as exc:
        config_error: ConfigError | None = exc
    else:
        config_error = None
    parser = build_parser(settings)
    args = parser.parse_args(argv)  # --help works even with a broken config file
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    if config_error is not None and args.command not in WITH_BROKEN_CONFIG:
        print(f"voiceguide: {config_error}", file=sys.stderr)
        return 2
    try:
        code: int = func(args)
    except ContentError as exc:
        print(f"voiceguide: content error:\n{exc}", file=sys.stderr)
        return 2
    except ConfigError as exc:
        print(f"voiceguide: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("voiceguide: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader left (`voiceguide config show | head`): nothing more to tell it, and
        # Python's own flush at exit must not fail on the closed pipe either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    return code


if __name__ == "__main__":
    sys.exit(main())
