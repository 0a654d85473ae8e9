"""``voiceguide run``: the guided session, hands-free or by keyboard."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import sys
from collections.abc import Iterator

from voiceguide.commands.common import (
    UsageError,
    add_audio_options,
    add_session_options,
    content_from,
    settings_from,
)
from voiceguide.config import Settings
from voiceguide.content import Content, PromptId
from voiceguide.dialogue.clock import Clock, LeadClock, MonotonicClock, ScaledClock
from voiceguide.dialogue.controller import Dialogue, Phase
from voiceguide.dialogue.events import Speak
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


#: --time-scale bounds: beyond them timeouts either never fire or fire in a busy loop.
MIN_SCALE, MAX_SCALE = 0.01, 1000.0
#: The signals that end a session cleanly (with an ``end`` record naming them).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def time_scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (math.isfinite(value) and MIN_SCALE <= value <= MAX_SCALE):
        raise argparse.ArgumentTypeError(
            f"must be a number from {MIN_SCALE:g} to {MAX_SCALE:g} (got {text!r})"
        )
    return value


class Stopped(BaseException):
    """A stop signal arrived; the session ends with an ``end`` record naming it.

    A BaseException, like KeyboardInterrupt: the ``except Exception`` that turns an engine
    fault into captions must not swallow a stop and carry on."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def reason(self) -> str:
        return f"signal {signal.Signals(self.signum).name}"


def _raise_stopped(signum: int, _frame: object) -> None:
    raise Stopped(signum)


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[None]:
    previous = {sig: signal.signal(sig, _raise_stopped) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _keep_standard_fds() -> None:
    """Put /dev/null on a closed stdin, stdout or stderr, before anything opens a file.

    Otherwise the next file opened (the session log) would get that number, and anything
    written "to stdout" (by a library or a child process) would land in the log.
    """
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            opened = os.open(os.devnull, os.O_RDWR)
            if opened != fd:  # a lower number was free too; it gets filled in turn
                os.dup2(opened, fd)
                os.close(opened)


def _stdout_flushes() -> bool:
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except (OSError, ValueError):
        return False
    return True


def _silence_failed_stdout() -> None:
    """After stdout failed (full, gone), point it at /dev/null so Python's final flush of
    the unwritten rest does not print a traceback and change the exit code."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


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
        type=time_scale,
        default=1.0,
        metavar="X",
        help=f"run the session clock X times faster, {MIN_SCALE:g} to {MAX_SCALE:g} "
        "(for scripted runs; default 1)",
    )
    add_session_options(p)
    add_audio_options(p)
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    _keep_standard_fds()
    if not args.text:
        from voiceguide.speech.synthesis import begin_probe

        begin_probe()  # espeak-ng is tried in a child while the rest starts up
    try:
        settings = settings_from(args)
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
    output = TextOutput(sys.stdout)
    try:
        with _stop_on_signals():
            if not args.text:
                return _hands_free(dialogue, content, settings, args, clock, log)
            session = Session(
                dialogue,
                clock,
                LineInput(sys.stdin),
                output,
                log=log,
                time_scale=args.time_scale,
            )
            session.run()
    except Stopped as stop:
        print(f"voiceguide run: stopped by {stop.reason}", file=sys.stderr)
        if log is not None:
            log.write("end", clock.now(), reason=stop.reason)
        return 128 + stop.signum
    except Exception as exc:
        # A fault nothing else caught: say so, and if the screening was not passed, still
        # give the advice on screen, since it may be what the user needed.
        print(f"voiceguide run: internal error: {exc!r}", file=sys.stderr)
        if log is not None:
            log.write("end", clock.now(), reason=f"error: {exc!r}")
        if dialogue.phase in (Phase.SCREENING, Phase.EMERGENCY, Phase.PAIN_CHECK):
            output.speak(emergency_advice(dialogue))
        return 1
    finally:
        if log:
            log.close()
        if output.failed or not _stdout_flushes():
            _silence_failed_stdout()
    return 0


def _warn(message: str) -> None:
    with contextlib.suppress(OSError, ValueError, AttributeError):
        print(f"voiceguide run: {message}", file=sys.stderr, flush=True)


def emergency_advice(dialogue: Dialogue) -> Speak:
    """The emergency script as the dialogue would say it (for a last-resort print)."""
    pid = PromptId.EMERGENCY_SCRIPT
    text = dialogue.content.prompts.choose(pid, dialogue.rng, number=dialogue.spoken_number)
    return Speak(pid.value, text)


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
    from voiceguide.speech.recognizer import Recognizer
    from voiceguide.speech.select import (
        NoRecognizer,
        checked_vosk_model,
        load_in_background,
        make_recognizer,
        other_engine,
    )
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
        recognizer = load_in_background(args.engine, content.grammars, echo, counts, notify=_warn)

        def other() -> Recognizer:
            # If the engine fails mid-session, the other one (if it serves the language);
            # a Vosk model is loaded once in a child process first, in case it aborts.
            engine = other_engine(recognizer.name)
            if engine == "vosk":
                checked_vosk_model(content.grammars)
            return make_recognizer(engine, content.grammars, echo, counts)

        io = VoiceIO(
            content,
            recognizer,
            synth,
            speaker,
            lambda: Microphone(mic_index),
            rate=settings.speech_rate,
            volume=settings.volume,
            fallback=other,
        )
    except (NoRecognizer, NoAudioDevice, RuntimeError) as exc:
        speaker.close()
        print(f"voiceguide run: {exc}", file=sys.stderr)
        return 1
    with contextlib.suppress(OSError, ValueError):
        print(f"voiceguide run: listening with {recognizer.name}; say help at any time", flush=True)
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
                speaker_stalls=s.stalls,
                mic_changes=s.mic_changes,
            )
    return 0
