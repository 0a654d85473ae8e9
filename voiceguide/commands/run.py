"""``voiceguide run``: the guided session, hands-free or by keyboard."""

from __future__ import annotations

import argparse
import sys

from voiceguide.commands.common import (
    UsageError,
    add_session_options,
    content_from,
    settings_from,
)
from voiceguide.dialogue.clock import MonotonicClock, ScaledClock
from voiceguide.dialogue.controller import Dialogue
from voiceguide.runtime.log import EventLog
from voiceguide.runtime.session import Session
from voiceguide.runtime.text_io import LineInput, TextOutput

HELP = """\
Run the guided session. It asks the yes/no safety questions first; any warning sign
leads to emergency instructions, and only a clear "no" to every question leads to the
exercises.

With --text, everything is plain lines: prompts and counts are printed one per line,
and you type answers and commands (yes, no, pause, resume, repeat, skip, stop, slower,
faster, it hurts, help). An empty line counts as silence. Answers can come from a pipe;
the session ends cleanly at the end of the input.
"""

EXAMPLES = """\
examples:
  voiceguide run                            hands-free, default microphone and speaker
  voiceguide run --text                     type answers; read prompts as lines
  printf 'no\\nyes\\n' | voiceguide run --text --log session.jsonl
  voiceguide run --region GB                say 999 as the emergency number
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "run",
        help="run the guided session (hands-free, or --text for keyboard)",
        description=HELP,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--text",
        action="store_true",
        help="keyboard and screen (or pipes) instead of microphone and speaker",
    )
    p.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        metavar="X",
        help="run the session clock X times faster (for scripted runs; default 1)",
    )
    add_session_options(p)
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    try:
        settings = settings_from(args)
        if args.time_scale <= 0:
            raise UsageError("--time-scale must be positive")
    except UsageError as exc:
        print(f"voiceguide run: {exc}", file=sys.stderr)
        return 2
    content = content_from(args)
    try:
        dialogue = Dialogue(content, settings)
    except ValueError as exc:
        print(f"voiceguide run: {exc}", file=sys.stderr)
        return 2
    if not args.text:
        from voiceguide.runtime.voice import run_voice

        return run_voice(dialogue, args)
    clock = MonotonicClock() if args.time_scale == 1.0 else ScaledClock(args.time_scale)
    log = None
    if args.log:
        try:
            log = EventLog(args.log, clock.now())
        except OSError as exc:
            print(f"voiceguide run: {exc}", file=sys.stderr)
            return 2
    try:
        session = Session(
            dialogue,
            clock,
            LineInput(sys.stdin),
            TextOutput(sys.stdout),
            log=log,
            time_scale=args.time_scale,
        )
        session.run()
    finally:
        if log:
            log.close()
    return 0
