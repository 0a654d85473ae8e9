"""``voiceguide bench latency``: end of the user's speech to the first sample of the reply.

The real hands-free runtime (endpointer, recognizer, dialogue, synthesizer, speaker) runs
on a real output device. The microphone is replaced by a replay that delivers 30 ms
blocks at real-time pace, so the instant the user's last word ends is known exactly.
Each turn answers a safety question ("no") once the guide has finished speaking; every
six turns a new session starts.
"""

from __future__ import annotations

import argparse
import os
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from voiceguide.audio.devices import Int16, NoAudioDevice, Speaker, resolve
from voiceguide.audio.files import to_mono16k
from voiceguide.audio.vad import FRAME, RATE
from voiceguide.bench.report import emit
from voiceguide.content import load_content, load_demo
from voiceguide.dialogue.clock import MonotonicClock
from voiceguide.dialogue.controller import Dialogue, Phase
from voiceguide.dialogue.events import InputEnded
from voiceguide.runtime.session import Session
from voiceguide.runtime.voice import VoiceIO
from voiceguide.speech.select import NoRecognizer, make_recognizer
from voiceguide.speech.synthesis import SynthesisUnavailable, Synthesizer


class ReplayMicrophone:
    """Silence, and on request a clip, in 30 ms blocks at real-time pace."""

    def __init__(self) -> None:
        self._blocks: queue.Queue[Int16] = queue.Queue()
        self._pending: list[Int16] = []
        self._lock = threading.Lock()
        self._alive = True
        self.speech_ended: float | None = None
        threading.Thread(target=self._pace, daemon=True).start()

    def say(self, clip: Int16) -> None:
        n = -(-len(clip) // FRAME) * FRAME
        padded = np.zeros(n, dtype=np.int16)
        padded[: len(clip)] = clip
        with self._lock:
            self.speech_ended = None
            self._pending = [padded[i : i + FRAME] for i in range(0, n, FRAME)]

    def _pace(self) -> None:
        t0 = time.monotonic()
        k = 0
        silence = np.zeros(FRAME, dtype=np.int16)
        while self._alive:
            k += 1
            time.sleep(max(0.0, t0 + k * FRAME / RATE - time.monotonic()))
            with self._lock:
                block = self._pending.pop(0) if self._pending else silence
                last = block is not silence and not self._pending
            self._blocks.put(block)
            if last:
                self.speech_ended = time.monotonic()

    def read(self, timeout: float) -> Int16 | None:
        try:
            return self._blocks.get(timeout=timeout)
        except queue.Empty:
            return None

    @property
    def alive(self) -> bool:
        return self._alive

    def close(self) -> None:
        self._alive = False


class TimedSpeaker(Speaker):
    """The real speaker, remembering when each sound was handed over."""

    def __init__(self, device: int | None) -> None:
        super().__init__(device)
        self.handed: dict[int, float] = {}

    def play(self, samples: Int16, rate: int, at: float | None = None) -> int:
        now = time.monotonic()
        ident = super().play(samples, rate, at)
        self.handed[ident] = now
        return ident


@dataclass
class Turn:
    speech_end: float
    endpoint: float
    decoded: float
    handed: float
    onset: float


def _wait(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def measure(turns: int, device: int | None, progress: bool = True) -> list[Turn]:
    content = load_content("en")
    synth = Synthesizer(content.locale.tts_voice)
    recognizer = make_recognizer("auto", content.grammars)
    speaker = TimedSpeaker(device)
    # The demo's simulated user, saying the grammar's first "no" phrase.
    rendered = synth.render(content.grammars.phrases["no"][0], load_demo("en").user_voice)
    clip = _trimmed(to_mono16k(rendered.samples, rendered.sample_rate))
    results: list[Turn] = []
    quiet = open(os.devnull, "w")  # noqa: SIM115 - closed in finally
    try:
        while len(results) < turns:
            dialogue = Dialogue(content)
            mic = ReplayMicrophone()
            io = VoiceIO(content, recognizer, synth, speaker, _fixed(mic), captions=quiet)
            session = threading.Thread(
                target=Session(dialogue, MonotonicClock(), io, io).run, daemon=True
            )
            session.start()
            _wait(lambda: dialogue.phase is not Phase.NOT_STARTED, 10)  # noqa: B023
            while dialogue.phase is Phase.SCREENING and len(results) < turns:
                turn = _one_turn(io, mic, speaker, clip)
                if turn is None:
                    continue  # not heard as one utterance, or no reply: try again
                results.append(turn)
                if progress:
                    print(f"bench latency: {len(results)}/{turns} turns", file=sys.stderr)
            io.post(InputEnded())
            session.join(timeout=120)
    finally:
        speaker.close()
        quiet.close()
    return results


def _one_turn(
    io: VoiceIO, mic: ReplayMicrophone, speaker: TimedSpeaker, clip: Int16
) -> Turn | None:
    if not _wait(lambda: not speaker.busy, 60):
        raise RuntimeError("the guide never stopped speaking")
    time.sleep(0.4)
    before = len(io.stats.turns)
    mic.say(clip)
    if not _wait(lambda: len(io.stats.turns) > before, 10):
        return None
    decoded = io.stats.turns[-1].decoded
    if not _wait(lambda: any(t >= decoded for t in speaker.handed.values()), 5):
        return None
    ident, handed = min(
        ((i, t) for i, t in speaker.handed.items() if t >= decoded), key=lambda x: x[1]
    )
    _wait(lambda: ident in speaker.onsets, 5)
    if mic.speech_ended is None or ident not in speaker.onsets:
        return None
    timing = io.stats.turns[-1]
    return Turn(mic.speech_ended, timing.endpoint, decoded, handed, speaker.onsets[ident])


def _trimmed(clip: Int16) -> Int16:
    """The clip without the synthesizer's leading and trailing quiet: its last sample is
    the true end of speech."""
    loud = np.flatnonzero(np.abs(clip.astype(np.int32)) > 0.02 * np.abs(clip).max())
    trimmed: Int16 = clip[loud[0] : loud[-1] + 1]
    return trimmed


def _fixed(mic: ReplayMicrophone) -> Callable[[], ReplayMicrophone]:
    return lambda: mic


def summarize(turns: list[Turn]) -> dict[str, object]:
    total = np.array([t.onset - t.speech_end for t in turns]) * 1000
    parts = {
        "endpointing": [t.endpoint - t.speech_end for t in turns],
        "decoding": [t.decoded - t.endpoint for t in turns],
        "dialogue_and_render": [t.handed - t.decoded for t in turns],
        "speech_start": [t.onset - t.handed for t in turns],
    }
    return {
        "turns": len(turns),
        "p50_ms": round(float(np.percentile(total, 50)), 1),
        "p95_ms": round(float(np.percentile(total, 95)), 1),
        "median_ms_by_stage": {k: round(float(np.median(v)) * 1000, 1) for k, v in parts.items()},
    }


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "latency",
        help="end of the user's speech to the first sample of the reply (p50, p95, stages)",
        description=__doc__,
        epilog="example:\n  scripts/with-virtual-audio .venv/bin/voiceguide bench latency --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--turns", type=int, default=24, help="answers to time (default 24)")
    p.add_argument("--output-device", metavar="NAME|INDEX", help="speaker (default: default)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    if args.turns < 1:
        print("voiceguide bench latency: --turns must be at least 1", file=sys.stderr)
        return 2
    try:
        turns = measure(args.turns, resolve(args.output_device, "output"))
    except (NoAudioDevice, SynthesisUnavailable, NoRecognizer, RuntimeError) as exc:
        print(f"voiceguide bench latency: {exc}", file=sys.stderr)
        return 1
    report = summarize(turns)
    emit(report, args.json)
    return 0
