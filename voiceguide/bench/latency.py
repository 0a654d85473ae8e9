"""``voiceguide bench latency``: end of the user's speech to the first sample of the reply.

The real hands-free runtime (endpointer, recognizer, dialogue, synthesizer, speaker) runs
on a real output device. The microphone is replaced by a replay that delivers 30 ms
blocks at real-time pace; the user's speech ends at its last voiced sample, as delivered.
Each turn answers a safety question once the guide has finished speaking, in turn kinds
("no", which moves on, and "repeat", which has the question said again) and user voices
taken in rotation; a new session starts whenever one leaves the screening.

With --monitor SOURCE the reply's first sample is found in a recording of the speaker
taken by another process (parec), on the recording's own clock; without it, the speaker's
own estimate is used (the old method). A turn that is not heard as one utterance, not
understood as what was said, or gets no reply within 5 s is counted as failed and
reported; only replied turns are timed.
"""

from __future__ import annotations

import argparse
import os
import queue
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from voiceguide.audio.devices import Int16, NoAudioDevice, Speaker, resolve
from voiceguide.audio.files import to_mono16k
from voiceguide.audio.vad import FRAME, RATE
from voiceguide.bench.monitor import MonitorRecording
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
    """Silence, and on request a clip, in 30 ms blocks at real-time pace.

    ``speech_ended``: the instant the clip's last sample was spoken, i.e. the delivery of
    the block holding it less the padding after it in that block."""

    def __init__(self) -> None:
        self._blocks: queue.Queue[Int16] = queue.Queue()
        self._pending: list[Int16] = []
        self._lock = threading.Lock()
        self._pad_s = 0.0
        self._alive = True
        self.speech_ended: float | None = None
        #: The old stamp: when the zero-padded last block was queued.
        self.last_block_queued: float | None = None
        threading.Thread(target=self._pace, daemon=True).start()

    def say(self, clip: Int16) -> None:
        n = -(-len(clip) // FRAME) * FRAME
        padded = np.zeros(n, dtype=np.int16)
        padded[: len(clip)] = clip
        with self._lock:
            self.speech_ended = None
            self._pad_s = (n - len(clip)) / RATE
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
            delivered = time.monotonic()
            self._blocks.put(block)
            if last:
                self.speech_ended = delivered - self._pad_s
                self.last_block_queued = time.monotonic()

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
    kind: str = "no"
    voice: str = ""
    #: The old method's ends: the padded block's queueing, the speaker's own estimate.
    old_speech_end: float = 0.0
    speaker_onset: float = 0.0


#: Turn kinds: what the user says, and the answer the dialogue must record for it.
TURN_KINDS = {"no": "no", "repeat": None}
#: Peak level (int16) that counts as the reply's sound in the recording.
LOUD = 300


@dataclass
class Tally:
    """Every attempt, timed or failed."""

    turns: list[Turn] = field(default_factory=list)
    failed: Counter[str] = field(default_factory=Counter)

    @property
    def attempts(self) -> int:
        return len(self.turns) + sum(self.failed.values())


def _wait(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


#: How long after the guide's last word the simulated user answers.
ANSWER_GAP_S = 0.4


def measure(
    turns: int,
    device: int | None,
    progress: bool = True,
    voices: list[str] | None = None,
    recorder: MonitorRecording | None = None,
    kinds: list[str] | None = None,
) -> Tally:
    content = load_content("en")
    synth = Synthesizer(content.locale.tts_voice)
    recognizer = make_recognizer("auto", content.grammars)
    speaker = TimedSpeaker(device)
    voices = voices or [load_demo("en").user_voice]
    clips = {
        (kind, v): _trimmed(_render(synth, content.grammars.phrases[kind][0], v))
        for kind in kinds or ["no"]
        for v in voices
    }
    plan = list(clips)
    tally = Tally()
    max_attempts = 4 * turns + 10
    quiet = open(os.devnull, "w")  # noqa: SIM115 - closed in finally
    try:
        while len(tally.turns) < turns and tally.attempts < max_attempts:
            dialogue = Dialogue(content)
            mic = ReplayMicrophone()
            io = VoiceIO(content, recognizer, synth, speaker, _fixed(mic), captions=quiet)
            session = threading.Thread(
                target=Session(dialogue, MonotonicClock(), io, io).run, daemon=True
            )
            session.start()
            _wait(lambda: dialogue.phase is not Phase.NOT_STARTED, 10)  # noqa: B023
            while (
                dialogue.phase is Phase.SCREENING
                and len(tally.turns) < turns
                and tally.attempts < max_attempts
            ):
                kind, voice = plan[tally.attempts % len(plan)]
                turn = _one_turn(io, dialogue, mic, speaker, clips[kind, voice], kind, recorder)
                if isinstance(turn, str):
                    tally.failed[turn] += 1
                    continue
                turn.voice = voice
                tally.turns.append(turn)
                if progress:
                    failed = sum(tally.failed.values())
                    print(
                        f"bench latency: {len(tally.turns)}/{turns} turns ({failed} failed)",
                        file=sys.stderr,
                    )
            io.post(InputEnded())
            session.join(timeout=120)
    finally:
        speaker.close()
        quiet.close()
    return tally


def _one_turn(
    io: VoiceIO,
    dialogue: Dialogue,
    mic: ReplayMicrophone,
    speaker: TimedSpeaker,
    clip: Int16,
    kind: str,
    recorder: MonitorRecording | None,
) -> Turn | str:
    """One answer, timed; or why it failed."""
    # The user answers 0.4 s after the guide has finished: a short gap between two of its
    # prompts (the welcome, the introduction, then the question) is not the end.
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < ANSWER_GAP_S:
        if speaker.busy:
            if not _wait(lambda: not speaker.busy, 60):
                raise RuntimeError("the guide never stopped speaking")
            quiet_since = time.monotonic()
        time.sleep(0.01)
    before, echoes = len(io.stats.turns), io.stats.self_rejected
    answered = (dialogue.question, dialogue.unclear)
    mic.say(clip)
    if not _wait(lambda: len(io.stats.turns) > before, 10):
        # Decoded as speech over the guide and dropped as its echo, or never endpointed.
        return "taken_for_echo" if io.stats.self_rejected > echoes else "not_heard"
    decoded = io.stats.turns[-1].decoded
    if not _wait(lambda: any(t >= decoded for t in speaker.handed.values()), 5):
        return "no_reply"
    ident, handed = min(
        ((i, t) for i, t in speaker.handed.items() if t >= decoded), key=lambda x: x[1]
    )
    _wait(lambda: ident in speaker.onsets, 5)
    if mic.speech_ended is None or ident not in speaker.onsets:
        return "no_reply"
    if not _understood(kind, answered, (dialogue.question, dialogue.unclear)):
        return "not_understood"
    onset: float | None = speaker.onsets[ident]
    if recorder is not None:
        onset = _recorded_onset(recorder, handed)
    if onset is None:
        return "reply_not_recorded"
    timing = io.stats.turns[-1]
    old_end = mic.last_block_queued or mic.speech_ended
    return Turn(
        mic.speech_ended,
        timing.endpoint,
        decoded,
        handed,
        onset,
        kind,
        old_speech_end=old_end,
        speaker_onset=speaker.onsets[ident],
    )


def _understood(kind: str, before: tuple[int, int], after: tuple[int, int]) -> bool:
    """A "no" moves to the next question; "repeat" keeps the question and its tally."""
    if TURN_KINDS[kind] == "no":
        return after[0] == before[0] + 1
    return after == before


def _recorded_onset(recorder: MonitorRecording, handed: float) -> float | None:
    """The first loud sample the recording holds after the reply was handed over."""
    if not _wait(lambda: len(recorder.so_far()) > recorder.index_at(handed + 1.0), 5):
        return None
    audio = recorder.so_far()
    lo = max(0, recorder.index_at(handed - 0.05))
    loud = np.flatnonzero(np.abs(audio[lo:].astype(np.int32)) > LOUD)
    return recorder.time_of(lo + int(loud[0])) if loud.size else None


def _render(synth: Synthesizer, text: str, voice: str) -> Int16:
    pcm = synth.render(text, voice)
    return to_mono16k(pcm.samples, pcm.sample_rate)


def _trimmed(clip: Int16) -> Int16:
    """The clip without the synthesizer's leading and trailing quiet: its last sample is
    the true end of speech."""
    loud = np.flatnonzero(np.abs(clip.astype(np.int32)) > 0.02 * np.abs(clip).max())
    trimmed: Int16 = clip[loud[0] : loud[-1] + 1]
    return trimmed


def _fixed(mic: ReplayMicrophone) -> Callable[[], ReplayMicrophone]:
    return lambda: mic


def summarize(tally: Tally, reply_from: str = "speaker estimate") -> dict[str, object]:
    turns = tally.turns
    total = np.array([t.onset - t.speech_end for t in turns]) * 1000
    parts = {
        "endpointing": [t.endpoint - t.speech_end for t in turns],
        "decoding": [t.decoded - t.endpoint for t in turns],
        "dialogue_and_render": [t.handed - t.decoded for t in turns],
        "speech_start": [t.onset - t.handed for t in turns],
    }
    by_kind = {
        kind: round(
            float(np.median([1000 * (t.onset - t.speech_end) for t in turns if t.kind == kind])), 1
        )
        for kind in sorted({t.kind for t in turns})
    }
    old = np.array([t.speaker_onset - t.old_speech_end for t in turns]) * 1000
    return {
        "turns": len(turns),
        "attempts": tally.attempts,
        "failed": dict(tally.failed),
        "reply_onset_from": reply_from,
        "p50_ms": round(float(np.percentile(total, 50)), 1) if len(turns) else None,
        "p95_ms": round(float(np.percentile(total, 95)), 1) if len(turns) else None,
        "median_ms_by_kind": by_kind,
        # The same turns timed the old way: from the padded block's queueing to the
        # speaker's own estimate (and failed turns silently retried).
        "old_method_p50_ms": round(float(np.percentile(old, 50)), 1) if len(turns) else None,
        "old_method_p95_ms": round(float(np.percentile(old, 95)), 1) if len(turns) else None,
        "median_ms_by_stage": {
            k: round(float(np.median(v)) * 1000, 1) if v else None for k, v in parts.items()
        },
    }


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "latency",
        help="end of the user's speech to the first sample of the reply (p50, p95, stages)",
        description=__doc__,
        epilog="examples:\n  scripts/with-virtual-audio .venv/bin/voiceguide bench latency --json\n"
        "  scripts/with-virtual-audio .venv/bin/voiceguide bench latency --monitor "
        "vspeaker.monitor --voices en-us+f2,en-gb-x-rp+m3",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--turns", type=int, default=24, help="answers to time (default 24)")
    p.add_argument("--output-device", metavar="NAME|INDEX", help="speaker (default: default)")
    p.add_argument(
        "--voices",
        metavar="V1,V2",
        help="espeak-ng voices of the simulated user, in rotation (default: the demo's)",
    )
    p.add_argument(
        "--kinds",
        metavar="K1,K2",
        default="no",
        help=f"turn kinds, in rotation: {', '.join(TURN_KINDS)} (default: no)",
    )
    p.add_argument(
        "--monitor",
        metavar="SOURCE",
        help="find each reply in a parec recording of this PulseAudio source "
        "(e.g. vspeaker.monitor under scripts/with-virtual-audio)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    if args.turns < 1:
        print("voiceguide bench latency: --turns must be at least 1", file=sys.stderr)
        return 2
    voices = [v for v in (args.voices or "").split(",") if v] or None
    kinds = [k for k in args.kinds.split(",") if k]
    if not kinds or any(k not in TURN_KINDS for k in kinds):
        print(f"voiceguide bench latency: --kinds takes {', '.join(TURN_KINDS)}", file=sys.stderr)
        return 2
    recorder = None
    try:
        device = resolve(args.output_device, "output")
        recorder = MonitorRecording(args.monitor) if args.monitor else None
        tally = measure(args.turns, device, voices=voices, recorder=recorder, kinds=kinds)
    except (NoAudioDevice, SynthesisUnavailable, NoRecognizer, RuntimeError) as exc:
        print(f"voiceguide bench latency: {exc}", file=sys.stderr)
        return 1
    finally:
        if recorder is not None:
            recorder.stop()
    if not tally.turns:
        print(
            f"voiceguide bench latency: no turn was timed ({dict(tally.failed)})", file=sys.stderr
        )
        return 1
    emit(summarize(tally, "recording" if recorder is not None else "speaker estimate"), args.json)
    return 0
