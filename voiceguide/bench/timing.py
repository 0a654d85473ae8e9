"""``voiceguide bench timing``: are counts spoken when the schedule says, through a real speaker?

Part 1 runs the real routine: the real dialogue and coach on the real clock, every cue
and count rendered and played on the output device, while the recognizer decodes speech
in the background as it does when the user talks during a hold (--idle: it does not).
For each count, the error is the time its first sample reached the device minus the
time the coach scheduled it.
Part 2 plays the same number of counts with the naive loop many voice apps use (say the
word, wait until it is done, sleep one period), against the same ideal schedule.

Figures:
  scheduled        the speaker's own account of where it put each count (not a witness)
  heard            with --monitor: each count found in a recording of the speaker taken by
                   another process, on the recording's own clock. lateness_ms is the
                   constant part (median error), jitter_* the spread around it, and
                   end_drift_ms how far the last counts moved against the first ones
  scheduled_heard  the old figure, for comparison: the same recording with its median
                   removed (which hides constant lateness), searched only +-0.3 s
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from voiceguide.audio.devices import Int16, NoAudioDevice, Speaker, resolve
from voiceguide.audio.files import to_mono16k
from voiceguide.audio.vad import RATE
from voiceguide.bench.monitor import MonitorRecording
from voiceguide.content import Content, load_content
from voiceguide.dialogue.clock import LeadClock, MonotonicClock
from voiceguide.dialogue.controller import Dialogue, Phase
from voiceguide.dialogue.events import Count, Heard, InputEnded, InputEvent, Speak, VoiceChange
from voiceguide.dialogue.intents import Intent
from voiceguide.runtime.session import Session
from voiceguide.runtime.voice import COUNT_MARGIN_S
from voiceguide.speech.select import NoRecognizer, make_recognizer
from voiceguide.speech.synthesis import Pcm, SynthesisUnavailable, Synthesizer


@dataclass
class PlayedCounts:
    """Output sink that plays everything and remembers each count's schedule and sound."""

    content: Content
    synth: Synthesizer
    speaker: Speaker
    period: float
    #: (scheduled time, sound id, text) of every count.
    counts: list[tuple[float, int, str]] = field(default_factory=list)
    progress_every: float = 60.0
    _last_note: float = field(default=0.0)

    def _play(self, text: str, at: float | None = None) -> int:
        pcm = self.synth.render(text, self.content.locale.tts_voice)
        return self.speaker.play(pcm.samples, pcm.sample_rate, at)

    def speak(self, event: Speak) -> None:
        self._play(event.text)

    def count(self, event: Count) -> None:
        ident = self._play(event.text, at=event.scheduled)
        self.counts.append((event.scheduled, ident, event.text))
        now = time.monotonic()
        if now - self._last_note >= self.progress_every:
            self._last_note = now
            print(f"bench timing: {len(self.counts)} counts played", file=sys.stderr)

    def halt(self) -> None:
        self.speaker.stop()

    def listen(self, grammar: str) -> None:
        pass

    def voice(self, event: VoiceChange) -> None:
        pass

    def finish(self) -> None:
        self.speaker.wait(60)


class ClearedUser:
    """Answers "no" to each safety question once it has been spoken, "ready" after each
    setup, and is otherwise silent."""

    def __init__(self, dialogue: Dialogue, speaker: Speaker, seconds: float | None) -> None:
        self.dialogue = dialogue
        self.speaker = speaker
        self.until = None if seconds is None else time.monotonic() + seconds

    def get(self, timeout: float | None) -> InputEvent | None:
        if self.until is not None and time.monotonic() >= self.until:
            return InputEnded()
        if self.dialogue.phase is Phase.SCREENING:
            self.speaker.wait(60)
            return Heard("no", intent=Intent.NO, source="bench")
        if self.dialogue.phase is Phase.SETUP:
            self.speaker.wait(60)
            return Heard("ready", intent=Intent.RESUME, source="bench")
        time.sleep(timeout if timeout is not None else 0.05)
        return None


def summarize(errors_s: list[float]) -> dict[str, float | int]:
    e = np.abs(np.asarray(errors_s)) * 1000
    signed = np.asarray(errors_s) * 1000
    return {
        "counts": len(errors_s),
        "median_abs_ms": round(float(np.median(e)), 2),
        "p99_abs_ms": round(float(np.percentile(e, 99)), 2),
        "max_abs_ms": round(float(e.max()), 2),
        "end_drift_ms": round(float(signed[-1] - signed[0]), 2),
    }


def summarize_heard(errors_s: list[float]) -> dict[str, float | int]:
    """Constant lateness and jitter apart: the median error, then the spread around it."""
    signed = np.asarray(errors_s) * 1000
    late = float(np.median(signed))
    spread = np.abs(signed - late)
    k = max(1, min(10, len(signed) // 4))
    return {
        "counts": len(errors_s),
        "lateness_ms": round(late, 2),
        "jitter_median_ms": round(float(np.median(spread)), 2),
        "jitter_p99_ms": round(float(np.percentile(spread, 99)), 2),
        "jitter_max_ms": round(float(spread.max()), 2),
        "end_drift_ms": round(float(np.median(signed[-k:]) - np.median(signed[:k])), 2),
    }


class BusyRecognizer:
    """Keeps the recognizer decoding, as when the user talks during the counts: one
    utterance of the coaching grammar after another, each as long as it takes to say."""

    def __init__(self, content: Content, synth: Synthesizer) -> None:
        self.recognizer = make_recognizer("auto", content.grammars)
        words = "I think I can hold this a little longer"
        self.clip = _at_16k(synth.render(words, content.locale.tts_voice))
        self.decodes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            t0 = time.monotonic()
            self.recognizer.recognize(self.clip, "coaching")
            self.decodes += 1
            self._stop.wait(max(0.0, len(self.clip) / RATE - (time.monotonic() - t0)))

    def stop(self) -> int:
        self._stop.set()
        self._thread.join(timeout=10)
        return self.decodes


def run_routine(
    content: Content, synth: Synthesizer, speaker: Speaker, seconds: float | None = None
) -> list[tuple[float, int, str]]:
    dialogue = Dialogue(content)
    sink = PlayedCounts(content, synth, speaker, dialogue.period)
    # As in `voiceguide run`: dialogue time is heard time, counts land on the beat.
    clock = LeadClock(MonotonicClock(), speaker.latency + COUNT_MARGIN_S)
    Session(dialogue, clock, ClearedUser(dialogue, speaker, seconds), sink).run()
    ended = time.monotonic()
    speaker.wait(30)
    time.sleep(0.2)
    # A count still waiting for its beat when --seconds ends the session is not timed.
    return [c for c in sink.counts if c[0] <= ended]


def found_onsets(
    recording: Int16, recorder: MonitorRecording, counts: list[tuple[float, Int16]]
) -> list[float]:
    """Where each count really starts in the recording, minus its scheduled instant
    (seconds), on the recording's own clock: constant lateness is kept."""
    found = []
    for at, template in counts:
        guess = recorder.index_at(at)
        lo = max(0, guess - round(0.3 * RATE))
        hi = min(len(recording), guess + round(1.0 * RATE) + len(template))
        best = _best_match(recording[lo:hi], template)
        if best is not None:
            found.append(recorder.time_of(lo + best) - at)
    return found


def _best_match(window: Int16, template: Int16) -> int | None:
    w, t = window.astype(np.float64), template.astype(np.float64)
    if len(w) < len(t):
        return None
    corr = np.correlate(w, t, mode="valid")
    energy = np.sqrt(np.convolve(w**2, np.ones(len(t)), mode="valid")) + 1e-9
    return int(np.argmax(corr / energy))


def heard_onsets(
    recording: Int16, started: float, counts: list[tuple[float, Int16]], search_s: float = 0.3
) -> list[float]:
    """The old method, kept for comparison: where each count starts in the recording minus
    where the schedule puts it (seconds), with the median removed (which hides constant
    lateness along with the recorder's offset)."""
    found = []
    for at, template in counts:
        guess = round((at - started) * RATE)
        lo = max(0, guess - round(search_s * RATE))
        hi = min(len(recording), guess + round(search_s * RATE) + len(template))
        best = _best_match(recording[lo:hi], template)
        found.append(np.nan if best is None else (lo + best - guess) / RATE)
    errors = np.asarray(found)
    errors = errors - np.nanmedian(errors)
    return [float(e) for e in errors if not np.isnan(e)]


def run_naive(
    words: list[str], content: Content, synth: Synthesizer, speaker: Speaker, period: float
) -> list[float]:
    pcms = [synth.render(w, content.locale.tts_voice) for w in words]
    t0 = time.monotonic() + 0.5
    time.sleep(0.5)
    errors = []
    for k, pcm in enumerate(pcms):
        ident = speaker.play(pcm.samples, pcm.sample_rate)
        speaker.wait(10)  # "say it and wait until it is done"
        errors.append(speaker.onsets[ident] - (t0 + k * period))
        time.sleep(period)
    return errors


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "timing",
        help="count-onset error of the real routine on the speaker, against a naive loop",
        description=__doc__,
        epilog="examples:\n  voiceguide bench timing            (about 15 minutes)\n"
        "  scripts/with-virtual-audio .venv/bin/voiceguide bench timing --json\n"
        "  voiceguide bench timing --naive-counts 20   (shorter naive part)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--lang", default="en", help="content language (default en)")
    p.add_argument("--output-device", metavar="NAME|INDEX", help="speaker (default: default)")
    p.add_argument(
        "--naive-counts",
        type=int,
        metavar="N",
        help="counts for the naive loop (default: as many as the routine had)",
    )
    p.add_argument("--skip-routine", action="store_true", help="run only the naive loop")
    p.add_argument(
        "--seconds",
        type=float,
        metavar="S",
        help="end the routine after S seconds (default: the whole routine, about 11 minutes)",
    )
    p.add_argument(
        "--monitor",
        metavar="SOURCE",
        help="also record this PulseAudio source with parec (e.g. vspeaker.monitor under "
        "scripts/with-virtual-audio) and find every count in the recording",
    )
    p.add_argument(
        "--idle",
        action="store_true",
        help="leave the recognizer idle during the routine (default: keep it decoding)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=main)


def _at_16k(pcm: Pcm) -> Int16:
    return to_mono16k(pcm.samples, pcm.sample_rate)


def main(args: argparse.Namespace) -> int:
    content = load_content(args.lang)
    if args.naive_counts is not None and args.naive_counts < 2:
        print("voiceguide bench timing: --naive-counts must be at least 2", file=sys.stderr)
        return 2
    try:
        synth = Synthesizer(content.locale.tts_voice)
        # The speaker first: with none, no decoding thread is left running as the process
        # exits (onnxruntime, in the fused recognizer, aborts the process if it is).
        speaker = Speaker(resolve(args.output_device, "output"))
        busy = None if args.idle or args.skip_routine else BusyRecognizer(content, synth)
    except (SynthesisUnavailable, NoAudioDevice, NoRecognizer) as exc:
        print(f"voiceguide bench timing: {exc}", file=sys.stderr)
        return 1
    period = Dialogue(content).period
    report: dict[str, object] = {"period_s": period}
    try:
        n = args.naive_counts or 0
        if not args.skip_routine:
            print("bench timing: playing the whole routine at real speed", file=sys.stderr)
            recorder = MonitorRecording(args.monitor) if args.monitor else None
            routine = run_routine(content, synth, speaker, args.seconds)
            report["recognizer_decodes"] = busy.stop() if busy is not None else 0
            if len(routine) < 2:
                print("voiceguide bench timing: too few counts; raise --seconds", file=sys.stderr)
                return 1
            report["scheduled"] = summarize([speaker.onsets[i] - at for at, i, _ in routine])
            if recorder is not None:
                recording = recorder.stop()
                templates = {
                    text: _at_16k(synth.render(text, content.locale.tts_voice))
                    for text in {t for _, _, t in routine}
                }
                placed = [(at, templates[t]) for at, _, t in routine]
                report["heard"] = summarize_heard(found_onsets(recording, recorder, placed))
                report["scheduled_heard"] = summarize(
                    heard_onsets(recording, recorder.started, placed)
                )
            n = n or len(routine)
        n = n or 60
        words = [content.prompts.count_word(1 + k % 10) for k in range(n)]
        print(f"bench timing: naive loop, {n} counts", file=sys.stderr)
        report["naive"] = summarize(run_naive(words, content, synth, speaker, period))
    finally:
        speaker.close()
    if args.json:
        print(json.dumps(report))
    else:
        for part in ("scheduled", "heard", "scheduled_heard", "naive"):
            if part in report:
                print(f"{part:10s} " + "  ".join(f"{k} {v}" for k, v in report[part].items()))  # type: ignore[attr-defined]
    return 0
