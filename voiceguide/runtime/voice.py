"""The hands-free session: microphone -> endpointer -> recognizer -> dialogue -> speech.

Half-duplex on purpose: while the guide speaks (and for a short tail after), what the
microphone hears is only ever decoded against the turn's small ``over_speech`` grammar
(``grammars/<lang>/grammars.toml``) with its strict threshold. The guide never answers
its own voice, yet "help" always, and "stop", "pause" or "it hurts" during an exercise,
still cut it off at once.
"""

from __future__ import annotations

import contextlib
import queue
import random
import sys
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TextIO

import numpy as np
import numpy.typing as npt

from voiceguide.audio.devices import Int16
from voiceguide.audio.vad import FRAME, RATE, Endpointer, Segment
from voiceguide.content.models import Content, PromptId, words_said
from voiceguide.dialogue.clock import Clock, MonotonicClock
from voiceguide.dialogue.events import (
    Count,
    Heard,
    InputEvent,
    NoMatch,
    Speak,
    VoiceChange,
)
from voiceguide.dialogue.intents import Intent
from voiceguide.runtime.utterance import (
    OVERLAP_SHARE,
    Decision,
    describe,
    is_barge_in,
    is_overlapped,
    judge,
    listening_grammar,
    over_speech_grammar,
    retry_limit,
    superseded,
    to_event,
)
from voiceguide.speech.recognizer import Recognition, Recognizer
from voiceguide.speech.synthesis import Pcm, Synthesizer

# The per-utterance decision lives in runtime/utterance.py (the benches use it too).
__all__ = ["OVERLAP_SHARE", "VoiceIO", "is_barge_in", "over_speech_grammar"]
#: The runtime's Recognition-to-event mapping, under the name tests know it by.
_event = to_event

#: After the guide stops, its echo can linger in a room; keep gating this long.
ECHO_TAIL_S = 0.35
#: Wake-up jitter and render time allowed for, on top of the speaker's own latency: the
#: session's clock runs this much ahead so counts can be placed exactly on the beat.
COUNT_MARGIN_S = 0.03
#: How much microphone audio is kept for decoding (an utterance is at most 12 s).
KEEP_S = 15.0
#: Seconds between attempts to reopen a lost microphone.
REOPEN_S = 2.0
#: Seconds between checks of which source the sound server records from.
SOURCE_CHECK_S = 3.0


def _malloc_trim() -> Callable[[], None]:
    """glibc's ``malloc_trim(0)``, or a no-op where there is none.

    A decode of a long stretch of the guide's own voice allocates tens of MB natively and
    frees them, but glibc keeps freed pages in the listening thread's arena: a hands-free
    run grew by about 80 MB that way (issue 8). Trimming after each decode hands them back.
    """
    try:
        import ctypes

        trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return lambda: None
    trim.argtypes = [ctypes.c_size_t]

    def release() -> None:
        trim(0)

    return release


release_memory = _malloc_trim()


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
    #: Times the speaker was found stalled (busy long past the end of its sound).
    stalls: int = 0
    #: Times the sound server moved the recording to another microphone.
    mic_changes: int = 0
    #: Rejections dropped because the user spoke again at once (``RETRY_WINDOW_S``).
    superseded: int = 0


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
        fallback: Callable[[], Recognizer] | None = None,
        clock: Clock | None = None,
    ) -> None:
        # The speaker's scale (monotonic, or a virtual clock shared with an in-memory
        # transport), not the session's lead clock.
        self.clock = clock or MonotonicClock()
        self.content = content
        self.recognizer = recognizer
        #: The other engine, loaded if this one fails mid-session.
        self._fallback = fallback
        #: No recognizer is left: speech can no longer be understood.
        self.deaf = False
        #: The speaker failed; the guide goes on with captions (and says so once).
        self.speaker_failed = False
        self._stall_reported = False
        #: A rejected utterance not yet handed on, and where it was cut.
        self._held: tuple[Segment, Decision] | None = None
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
        threading.Thread(target=self._watch_source, name="voice-source", daemon=True).start()

    # ------------------------------------------------------------ output sink

    def _caption(self, who: str, text: str) -> None:
        # Two threads caption (the session's speech, the listener's results): whole lines.
        line = f"{who}: {text}\n"
        with self._caption_lock:
            try:
                self.captions.write(line)
                self.captions.flush()
                return
            except (OSError, ValueError, AttributeError):
                pass  # closed, full or gone: the advice must still show somewhere
            with contextlib.suppress(OSError, ValueError, AttributeError):
                sys.stderr.write(line)
                sys.stderr.flush()

    def _play(self, text: str, at: float | None = None) -> None:
        # Words of what is playing now: a "barge-in" that only repeats them is our echo.
        if not self._gated():
            self._speaking_words = set()
        self._speaking_words |= words_said(text)
        if self.speaker_failed:
            return  # captions only
        pcm: Pcm
        if self.synth is None:
            pcm = tone()
        else:
            try:
                pcm = self.synth.render(text, self.content.locale.tts_voice, self.rate)
            except Exception as exc:  # any failure of the engine: captions and a tone
                self._caption("warning", f"speech failed ({exc}); captions and a tone instead")
                self.synth = None
                pcm = tone()
        pcm = pcm.scaled(self.volume)
        try:
            self.speaker.play(pcm.samples, pcm.sample_rate, at)
        except Exception as exc:
            self._lose_speaker(exc)

    def _lose_speaker(self, exc: Exception) -> None:
        if not self.speaker_failed:
            self.speaker_failed = True
            self._caption("warning", f"the speaker failed ({exc}); going on with captions only")

    def speak(self, event: Speak) -> None:
        self._caption("guide", event.text)
        self._play(event.text)

    def speech_seconds(self, text: str, rate: float = 1.0) -> float:
        """The real length of ``text`` as it will be played (the render is cached, so
        playing it later costs nothing). The dialogue schedules from this."""
        if self.synth is not None:
            try:
                return self.synth.render(text, self.content.locale.tts_voice, rate).seconds
            except Exception:  # any engine failure: _play reports it and uses a tone
                pass
        return tone().seconds

    def count(self, event: Count) -> None:
        # The session's clock runs ahead by the speaker's lead, so the count arrives early
        # enough to be placed exactly on its beat.
        self._caption("guide", event.text)
        self._play(event.text, at=event.scheduled)

    def halt(self) -> None:
        try:
            self.speaker.stop()
        except Exception as exc:
            self._lose_speaker(exc)

    def listen(self, grammar: str) -> None:
        self.grammar = grammar
        self._end_silence_ms = self.content.grammars.grammars[grammar].end_silence_ms

    def voice(self, event: VoiceChange) -> None:
        self.rate, self.volume = event.rate, event.volume

    def finish(self) -> None:
        if not self.speaker_failed:
            try:
                # As long as the queued speech lasts (a stalled speaker never goes idle).
                left = getattr(self.speaker, "expected_end", 0.0) - self.clock.now()
                self.speaker.wait(min(120.0, max(0.0, left) + 2.0))
            except Exception as exc:
                self._lose_speaker(exc)
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
            with contextlib.suppress(Exception):
                self._mic.close()

    def _gated(self) -> bool:
        if self.speaker_failed:
            return False  # nothing plays, so nothing the microphone hears is our echo
        s = self.speaker
        try:
            if s.busy and getattr(s, "stalled", False):
                self._report_stall()
                return False
            self._stall_reported = False
            return s.busy or self.clock.now() < s.ended_at + ECHO_TAIL_S
        except Exception as exc:
            self._lose_speaker(exc)
            return False

    def _report_stall(self) -> None:
        if not self._stall_reported:
            self._stall_reported = True
            self.stats.stalls += 1
            self._caption(
                "warning",
                "the speaker is not playing (stalled, suspended or gone); "
                "read the captions, and your answers are still heard",
            )

    def _listen(self) -> None:
        try:
            self._listen_loop()
        except Exception as exc:  # a fault in the listening path itself
            self._caption("error", f"listening failed: {exc!r}")
            self._go_deaf()

    def _watch_source(self) -> None:
        """Report when the sound server moves the recording to another source (a
        microphone unplugged or unloaded in PulseAudio): PortAudio never says."""
        first: str | None = None
        while not self._stop.wait(SOURCE_CHECK_S):
            mic = self._mic
            source_of = getattr(mic, "source", None)
            try:
                now = source_of() if source_of is not None else None
            except Exception:
                return
            if now is None:
                continue
            if first is None:
                first = now
            elif now != first:
                self.stats.mic_changes += 1
                self._caption(
                    "warning",
                    f"the microphone changed from {first} to {now}: check that it is "
                    "the one you speak into",
                )
                first = now

    def _go_deaf(self) -> None:
        """Nothing can understand the user any more: the safe state is the emergency
        advice, so the dialogue is handed an emergency, as if the user had asked."""
        if not self.deaf:
            self.deaf = True
            self._events.put(Heard("", intent=Intent.EMERGENCY, source="fault"))

    def _listen_loop(self) -> None:
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
            try:
                block = mic.read(0.1)
            except Exception:  # treated like a microphone that went away
                lost_at = self._reopen(lost_at)
                continue
            if block is None or self.deaf:
                continue
            if lost_at is not None:
                lost_at = None
                self.say_runtime(PromptId.MIC_BACK)
            playing = self._gated()
            kept.append((offset, block))
            gated.append((offset, playing))
            offset += len(block)
            while kept and kept[0][0] < offset - KEEP_S * RATE:
                kept.popleft()
                gated.popleft()
            endpointer.set_end_silence(self._end_silence_ms)
            for seg in endpointer.feed(block, learn=not playing):
                self._decide(seg, kept, gated)
                release_memory()  # after the result is handed on, not before
            self._release_held(endpointer, offset)

    def _release_held(self, endpointer: Endpointer, heard_to: int) -> None:
        """Hand the dialogue a held rejection once no new voice began within
        ``RETRY_WINDOW_S`` of it (``utterance.superseded``); a voice that did begin is
        left to decide, and its utterance drops the rejection in ``_decide``."""
        if self._held is None:
            return
        limit = retry_limit(self._held[0])
        began = endpointer.speech_from
        if began is not None and began <= limit:
            return
        # A voice beginning by ``limit`` is known only once the endpointer has seen its
        # first frames.
        if heard_to >= limit + endpointer.start_frames * FRAME:
            self._post_held()

    def _post_held(self) -> None:
        if self._held is not None:
            _, decision = self._held
            self._held = None
            if decision.event is not None:
                self._events.put(decision.event)

    def _reopen(self, lost_at: float | None) -> float:
        now = self.clock.now()
        if lost_at is None:
            self._post_held()
            if self._mic is not None:
                with contextlib.suppress(Exception):
                    self._mic.close()
                self._mic = None
            self._caption("warning", "the microphone stopped; trying to reopen it")
            self.say_runtime(PromptId.MIC_LOST)
            lost_at = now
        self._stop.wait(REOPEN_S)
        try:
            self._mic = self.open_mic()
        except Exception:  # NoAudioDevice, or anything else the device layer raised
            self._mic = None
        return lost_at

    def _decide(
        self, seg: Segment, kept: deque[tuple[int, Int16]], gated: deque[tuple[int, bool]]
    ) -> None:
        endpoint = self.clock.now()
        audio = _slice(kept, seg.start, seg.end)
        # Over the guide's speech if much of what was said was: counted from where the
        # voice began, since the pre-roll before it often reaches back into the echo gate
        # and turned quick answers into "echo" (issue 11, bench latency's failed turns).
        if self._held is not None and superseded(self._held[1], self._held[0], seg):
            self._held = None
            self.stats.superseded += 1
        self._post_held()
        said = [g for at, g in gated if seg.voiced_from <= at < seg.end]
        overlapped = is_overlapped(said)
        speaking = frozenset(self._speaking_words) if overlapped else frozenset()
        grammar = listening_grammar(
            self.content, audio, self.grammar, overlapped, speaking, self._count_words
        )
        if grammar is None:
            return
        try:
            result = self.recognizer.recognize(audio, grammar, speaking)
        except Exception as exc:  # a model that failed to load, or broke mid-session
            recovered = self._recognize_after_failure(exc, audio, grammar, speaking)
            if recovered is None:
                return
            result = recovered
        decoded = self.clock.now()
        tail_s = (seg.decided_at - seg.end) / RATE
        decision = judge(result, grammar, overlapped, speaking)  # as runtime/utterance.decide
        if decision.event is None:
            self.stats.self_rejected += 1
            return
        if decision.barge_in:
            self.speaker.stop()  # Barge-in: cut the guide at once, before the dialogue.
            self.stats.barge_ins += 1
        self.stats.turns.append(TurnTiming(endpoint - tail_s, endpoint, decoded))
        self._caption("heard", describe(result))
        if isinstance(decision.event, NoMatch):
            self._held = (seg, decision)  # until more speech, or RETRY_WINDOW_S of none
            return
        self._events.put(decision.event)

    def _recognize_after_failure(
        self, exc: Exception, audio: Int16, grammar: str, speaking: frozenset[str]
    ) -> Recognition | None:
        """Try the other engine once; if there is none, go deaf (the emergency advice)."""
        self._caption("error", f"speech recognition failed: {exc}")
        fallback, self._fallback = self._fallback, None
        if fallback is not None:
            try:
                self.recognizer = fallback()
                self._caption("warning", f"listening with {self.recognizer.name} instead")
                return self.recognizer.recognize(audio, grammar, speaking)
            except Exception as again:
                self._caption("error", f"the other recognizer failed too: {again}")
        self._go_deaf()
        return None


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
