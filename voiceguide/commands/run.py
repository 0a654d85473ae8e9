"""``voiceguide run``: the guided session, hands-free or by keyboard."""

from __future__ import annotations

import argparse
import signal
import sys

from voiceguide.commands.common import (
    UsageError,
    add_audio_options,
    add_session_options,
    content_from,
    settings_from,
)
from voiceguide.config import Settings
from voiceguide.content import Content
from voiceguide.dialogue.clock import Clock, LeadClock, MonotonicClock, ScaledClock
from voiceguide.dialogue.controller import Dialogue
from voiceguide.runtime.log import EventLog
from voiceguide.runtime.session import Session
from voiceguide.runtime.text_io import LineInput, TextOutput

HELP = """\
Run the guided session. It asks the yes/no safety questions first; any warning sign
leads to emergency instructions, and only a clear "no" to every question leads to the
exercises.

"help" (or "I fell", "I can't move") is not a command: it goes straight to the
emergency instructions, from anywhere. "What can I say" lists the commands. After each
exercise's setup the guide waits for "ready". "Stop" halts and offers to resume or
finish; "it hurts" halts and asks about the pain.

With --text, everything is plain lines: prompts and counts are printed one per line,
and you type answers and commands (yes, no, ready, pause, resume, repeat, skip, stop,
finish, slower, faster, louder, quieter, it hurts, what can I say). An empty line counts
as silence. Answers can come from a pipe; the session ends cleanly at the end of the
input.
"""

EXAMPLES = """\
examples:
  voiceguide run                            hands-free, default microphone and speaker
  voiceguide run --text                     type answers; read prompts as lines
  printf 'no\\nyes\\n' | voiceguide run --text --log session.jsonl
  voiceguide run --region GB                say 999 as the emergency number
  voiceguide run --emergency-number '+44 20 7946 0958'   a care home's own line
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
    add_audio_options(p)
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    try:
        settings = settings_from(args)
        if args.time_scale <= 0:
            raise UsageError("--time-scale must be positive")
        if args.time_scale != 1.0 and not args.text:
            raise UsageError("--time-scale works with --text only: speech plays in real time")
    except UsageError as exc:
        print(f"voiceguide run: {exc}", file=sys.stderr)
        return 2
    content = content_from(args)
    try:
        dialogue = Dialogue(content, settings)
    except ValueError as exc:
        print(f"voiceguide run: {exc}", file=sys.stderr)
        return 2
    clock = MonotonicClock() if args.time_scale == 1.0 else ScaledClock(args.time_scale)
    log = None
    if args.log:
        try:
            log = EventLog(args.log, clock.now())
        except OSError as exc:
            print(f"voiceguide run: {exc}", file=sys.stderr)
            return 2
    try:
        if not args.text:
            return _hands_free(dialogue, content, settings, args, clock, log)
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


def _hands_free(
    dialogue: Dialogue,
    content: Content,
    settings: Settings,
    args: argparse.Namespace,
    clock: Clock,
    log: EventLog | None,
) -> int:
    from voiceguide.audio.devices import Microphone, NoAudioDevice, Speaker, resolve
    from voiceguide.runtime.voice import COUNT_MARGIN_S, VoiceIO
    from voiceguide.speech.select import NoRecognizer, load_in_background
    from voiceguide.speech.synthesis import SynthesisUnavailable, Synthesizer

    try:
        mic_index = resolve(args.input_device, "input")
        speaker = Speaker(resolve(args.output_device, "output"))
    except NoAudioDevice as exc:
        print(f"voiceguide run: {exc}", file=sys.stderr)
        return 1
    synth: Synthesizer | None
    try:
        synth = Synthesizer(content.locale.tts_voice)
    except SynthesisUnavailable as exc:
        print(f"voiceguide run: speech output is unavailable: {exc}", file=sys.stderr)
        print("voiceguide run: carrying on with printed captions and a tone", file=sys.stderr)
        synth = None
    try:
        echo = frozenset(content.spoken_words())
        counts = frozenset(content.prompts.count_words)
        # The model loads while the welcome plays (Vosk takes seconds); a missing or broken
        # model is still reported here, before anything is said.
        recognizer = load_in_background(args.engine, content.grammars, echo, counts)
        io = VoiceIO(
            content,
            recognizer,
            synth,
            speaker,
            lambda: Microphone(mic_index),
            rate=settings.speech_rate,
            volume=settings.volume,
        )
    except (NoRecognizer, NoAudioDevice, RuntimeError) as exc:
        speaker.close()
        print(f"voiceguide run: {exc}", file=sys.stderr)
        return 1
    print(f"voiceguide run: listening with {recognizer.name}; say help at any time", flush=True)

    def _terminate(_sig: int, _frame: object) -> None:
        raise SystemExit(143)  # so the finally below closes devices and the log cleanly

    signal.signal(signal.SIGTERM, _terminate)
    try:
        # Dialogue time is "heard" time: counts are handed over early and land on the beat.
        heard = LeadClock(clock, speaker.latency + COUNT_MARGIN_S)
        Session(dialogue, heard, io, io, log=log).run()
    finally:
        io.close()
        speaker.close()
        if log is not None:
            s = io.stats
            log.write(
                "voice_stats",
                clock.now(),
                turns=len(s.turns),
                barge_ins=s.barge_ins,
                self_rejected=s.self_rejected,
            )
    return 0
