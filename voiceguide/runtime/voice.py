"""The hands-free session: microphone -> endpointer -> recognizer -> dialogue -> speech.

Half-duplex on purpose: while the guide speaks (and for a short tail after), what the
microphone hears is only ever decoded against the turn's small ``over_speech`` grammar
(``grammars/<lang>/grammars.toml``) with its strict threshold. The guide never answers
its own voice, yet "help" always, and "stop", "pause" or "it hurts" during an exercise,
still cut it off at once.
"""

from __future__ import annotations

import queue
import random
import re
import sys
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TextIO

import numpy as np
import numpy.typing as npt

from voiceguide.audio.devices import Int16, NoAudioDevice
from voiceguide.audio.vad import FRAME, RATE, Endpointer, Segment
from voiceguide.content.models import Content, PromptId
from voiceguide.dialogue.clock import Clock, MonotonicClock
from voiceguide.dialogue.events import (
    Count,
    Heard,
    InputEnded,
    InputEvent,
    NoMatch,
    Speak,
    VoiceChange,
)
from voiceguide.speech.recognizer import Recognition, Recognizer
from voiceguide.speech.synthesis import Pcm, SynthesisUnavailable, Synthesizer

#: After the guide stops, its echo can linger in a room; keep gating this long.
ECHO_TAIL_S = 0.35
#: Wake-up jitter and render time allowed for, on top of the speaker's own latency: the
#: session's clock runs this much ahead so counts can be placed exactly on the beat.
COUNT_MARGIN_S = 0.03
#: An utterance counts as spoken over the guide when this share of it was.
OVERLAP_SHARE = 0.3
#: How much microphone audio is kept for decoding (an utterance is at most 12 s).
KEEP_S = 15.0
#: Seconds between attempts to reopen a lost microphone.
REOPEN_S = 2.0


def tone(rate: int = 22_050, seconds: float = 0.25, hz: float = 660.0) -> Pcm:
    """A short beep that stands in for speech when the synthesizer has failed."""
    t = np.arange(int(rate * seconds)) / rate
    wave = 0.3 * np.sin(2 * np.pi * hz * t) * np.hanning(len(t))
    return Pcm((wave * 32767).astype(np.int16), rate)


class AudioInput(Protocol):
    """A microphone: 16 kHz mono int16 blocks (``audio.devices.Microphone``, or a replay)."""

    def read(self, timeout: float) -> Int16 | None: ...
    @property
    def alive(self) -> bool: ...
    def close(self) -> None: ...


class AudioOutput(Protocol):
    """A speaker (``audio.devices.Speaker``, or ``audio.memory.MemorySpeaker``); its
    times are on the ``clock`` that ``VoiceIO`` is given."""

    def play(self, samples: Int16, rate: int, at: float | None = None) -> int: ...
    def stop(self) -> None: ...
    def wait(self, timeout: float | None = None) -> bool: ...
    @property
    def busy(self) -> bool: ...
    @property
    def ended_at(self) -> float: ...


@dataclass
class TurnTiming:
    """One answer's path, in seconds of ``VoiceIO.clock`` (for ``bench latency``)."""

    speech_end: float
    endpoint: float
    decoded: float
    reply_start: float | None = None


@dataclass
class VoiceStats:
    turns: list[TurnTiming] = field(default_factory=list)
    barge_ins: int = 0
    self_rejected: int = 0


class VoiceIO:
    """Both ends of a hands-free ``Session``: an ``InputSource`` and an ``OutputSink``."""

    def __init__(
        self,
        content: Content,
        recognizer: Recognizer,
        synth: Synthesizer | None,
        speaker: AudioOutput,
        open_mic: Callable[[], AudioInput],
        captions: TextIO = sys.stdout,
        rate: float = 1.0,
        volume: float = 1.0,
        clock: Clock | None = None,
    ) -> None:
        # The speaker's scale (monotonic, or a virtual clock shared with an in-memory
        # transport), not the session's lead clock.
        self.clock = clock or MonotonicClock()
        self.content = content
        self.recognizer = recognizer
        self.synth = synth
        self.speaker = speaker
        self.open_mic = open_mic
        self.captions = captions
        self.rate = rate
        self.volume = volume
        self.grammar = "yes_no"
        self._end_silence_ms = content.grammars.grammars[self.grammar].end_silence_ms
        self.stats = VoiceStats()
        self._events: queue.Queue[InputEvent] = queue.Queue()
        self._stop = threading.Event()
        self._rng = random.Random(0)
        self._caption_lock = threading.Lock()
        self._speaking_words: set[str] = set()
        self._count_words = {w.lower() for w in content.prompts.count_words}
        self._mic: AudioInput | None = open_mic()
        self._thread = threading.Thread(target=self._listen, name="voice-listen", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------ output sink

    def _caption(self, who: str, text: str) -> None:
        # Two threads caption (the session's speech, the listener's results): whole lines.
        with self._caption_lock:
            try:
                self.captions.write(f"{who}: {text}\n")
                self.captions.flush()
            except (BrokenPipeError, ValueError):
                pass

    def _play(self, text: str, at: float | None = None) -> None:
        # Words of what is playing now: a "barge-in" that only repeats them is our echo.
        if not self._gated():
            self._speaking_words = set()
        self._speaking_words |= set(re.findall(r"[a-z']+", text.lower()))
        pcm: Pcm
        if self.synth is None:
            pcm = tone()
        else:
            try:
                pcm = self.synth.render(text, self.content.locale.tts_voice, self.rate)
            except SynthesisUnavailable as exc:
                self._caption("warning", f"speech failed ({exc}); captions and a tone instead")
                self.synth = None
                pcm = tone()
        pcm = pcm.scaled(self.volume)
        self.speaker.play(pcm.samples, pcm.sample_rate, at)

    def speak(self, event: Speak) -> None:
        self._caption("guide", event.text)
        self._play(event.text)

    def count(self, event: Count) -> None:
        # The session's clock runs ahead by the speaker's lead, so the count arrives early
        # enough to be placed exactly on its beat.
        self._caption("guide", event.text)
        self._play(event.text, at=event.scheduled)

    def halt(self) -> None:
        self.speaker.stop()

    def listen(self, grammar: str) -> None:
        self.grammar = grammar
        self._end_silence_ms = self.content.grammars.grammars[grammar].end_silence_ms

    def voice(self, event: VoiceChange) -> None:
        self.rate, self.volume = event.rate, event.volume

    def finish(self) -> None:
        self.speaker.wait(120)
        self.close()

    def say_runtime(self, pid: PromptId) -> None:
        text = self.content.prompts.choose(pid, self._rng)
        self._caption("guide", text)
        self._play(text)

    # ------------------------------------------------------------ input source

    def post(self, event: InputEvent) -> None:
        """Hand the session an input from outside the microphone (e.g. end of input)."""
        self._events.put(event)

    def get(self, timeout: float | None) -> InputEvent | None:
        try:
            return self._events.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        if self._mic is not None:
            self._mic.close()

    def _gated(self) -> bool:
        s = self.speaker
        return s.busy or self.clock.now() < s.ended_at + ECHO_TAIL_S

    def _listen(self) -> None:
        endpointer = Endpointer()
        kept: deque[tuple[int, Int16]] = deque()
        gated: deque[tuple[int, bool]] = deque()
        offset = 0
        lost_at: float | None = None
        while not self._stop.is_set():
            mic = self._mic
            if mic is None or not mic.alive:
                lost_at = self._reopen(lost_at)
                continue
            block = mic.read(0.1)
            if block is None:
                continue
            if lost_at is not None:
                lost_at = None
                self.say_runtime(PromptId.MIC_BACK)
            kept.append((offset, block))
            gated.append((offset, self._gated()))
            offset += len(block)
            while kept and kept[0][0] < offset - KEEP_S * RATE:
                kept.popleft()
                gated.popleft()
            endpointer.set_end_silence(self._end_silence_ms)
            for seg in endpointer.feed(block):
                self._decide(seg, kept, gated)

    def _reopen(self, lost_at: float | None) -> float:
        now = self.clock.now()
        if lost_at is None:
            if self._mic is not None:
                self._mic.close()
                self._mic = None
            self._caption("warning", "the microphone stopped; trying to reopen it")
            self.say_runtime(PromptId.MIC_LOST)
            lost_at = now
        self._stop.wait(REOPEN_S)
        try:
            self._mic = self.open_mic()
        except NoAudioDevice:
            self._mic = None
        return lost_at

    def _decide(
        self, seg: Segment, kept: deque[tuple[int, Int16]], gated: deque[tuple[int, bool]]
    ) -> None:
        endpoint = self.clock.now()
        audio = _slice(kept, seg.start, seg.end)
        if len(audio) < FRAME:
            return
        # Over the guide's speech if much of it was (the pre-roll alone does not count).
        flags = [g for at, g in gated if seg.start <= at < seg.end]
        overlapped = sum(flags) > OVERLAP_SHARE * max(1, len(flags))
        grammar = self.grammar
        speaking: frozenset[str] = frozenset()
        if overlapped:
            speaking = frozenset(self._speaking_words)
            counting = self._speaking_words <= self._count_words
            over = over_speech_grammar(self.content, self.grammar, counting)
            if over is None:
                return
            grammar = over
        try:
            result = self.recognizer.recognize(audio, grammar, speaking)
        except RuntimeError as exc:  # e.g. the model failed to load in the background
            self._caption("error", f"speech recognition failed: {exc}")
            self._stop.set()
            self._events.put(InputEnded())
            return
        decoded = self.clock.now()
        tail_s = (seg.decided_at - seg.end) / RATE
        if overlapped:
            if not is_barge_in(result, self._speaking_words):
                self.stats.self_rejected += 1
                return
            self.speaker.stop()  # Barge-in: cut the guide at once, before the dialogue.
            self.stats.barge_ins += 1
        self.stats.turns.append(TurnTiming(endpoint - tail_s, endpoint, decoded))
        self._caption("heard", _describe(result))
        self._events.put(_event(result))


def over_speech_grammar(content: Content, turn: str, counting: bool) -> str | None:
    """The grammar for speech heard while the guide talks during ``turn`` (None: ignore)."""
    g = content.grammars.grammars[turn]
    return (g.over_counts if counting else None) or g.over_speech


def is_barge_in(result: Recognition, speaking: set[str]) -> bool:
    """An accepted result over the guide's voice that is not just the guide's own words."""
    return result.accepted and not set(result.text.split()) <= speaking


def _slice(kept: deque[tuple[int, Int16]], start: int, end: int) -> Int16:
    parts = []
    for at, block in kept:
        lo, hi = max(start, at), min(end, at + len(block))
        if lo < hi:
            parts.append(block[lo - at : hi - at])
    if not parts:
        return np.zeros(0, dtype=np.int16)
    joined: npt.NDArray[np.int16] = np.concatenate(parts)
    return joined


def _describe(r: Recognition) -> str:
    if r.accepted:
        return f"{r.text} ({r.intent}, score {r.score:.2f})"
    return f"[not understood: {r.reason}]"


def _event(r: Recognition) -> InputEvent:
    if r.accepted:
        return Heard(
            r.text,
            intent=r.intent,
            confidence=r.score,
            alternatives=r.alternatives,
            source=r.engine,
        )
    return NoMatch(r.reason, r.text, source=r.engine)
