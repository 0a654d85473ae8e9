"""Voice activity and end-of-utterance detection: the one adapter over webrtcvad.

Works in 30 ms frames of 16 kHz int16 audio; every timing is in frames, not wall time,
so the same audio always gives the same segments (testable without a microphone).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import webrtcvad

RATE = 16_000
FRAME = 480  # 30 ms: one of the frame sizes webrtcvad accepts
FRAME_S = FRAME / RATE


def voiced_frames(samples: npt.NDArray[np.int16], aggressiveness: int = 2) -> list[bool]:
    vad = webrtcvad.Vad(aggressiveness)
    n = len(samples) // FRAME
    data = np.ascontiguousarray(samples[: n * FRAME], dtype=np.int16).tobytes()
    return [vad.is_speech(data[i * FRAME * 2 : (i + 1) * FRAME * 2], RATE) for i in range(n)]


@dataclass(frozen=True, slots=True)
class Segment:
    """One utterance: sample offsets into the stream, end exclusive."""

    start: int
    end: int
    #: Stream offset at which the end was decided (end + the trailing silence waited).
    decided_at: int
    #: Where the voice began: ``start`` is earlier by the pre-roll, which is kept for the
    #: decoder but is not part of what was said.
    voiced_from: int = 0

    @property
    def seconds(self) -> float:
        return (self.end - self.start) / RATE


@dataclass
class Endpointer:
    """Splits a stream into utterances.

    Speech starts after ``start_frames`` voiced frames in a row and ends after
    ``end_frames`` unvoiced frames: 300 ms by default, long enough not to cut
    "not ... at all". One-word turns set it much shorter (``Grammar.end_silence_ms``), so
    "no" is answered quickly. The most aggressive VAD mode keeps its own hangover short.
    """

    aggressiveness: int = 3
    start_frames: int = 3
    end_frames: int = 10
    pre_roll_frames: int = 8
    max_frames: int = 400  # 12 s: nobody answers yes/no for longer
    _vad: webrtcvad.Vad = field(init=False, repr=False)
    _buffer: npt.NDArray[np.int16] = field(init=False, repr=False)
    _offset: int = field(default=0, init=False)
    _run: int = field(default=0, init=False)
    _silence: int = field(default=0, init=False)
    _start: int | None = field(default=None, init=False)
    _last_voiced: int = field(default=0, init=False)
    _voiced_from: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self._vad = webrtcvad.Vad(self.aggressiveness)
        self._buffer = np.zeros(0, dtype=np.int16)

    @property
    def in_speech(self) -> bool:
        return self._start is not None

    @property
    def speech_from(self) -> int | None:
        """Where the voice of the utterance now open began (None: none is open)."""
        return self._voiced_from if self._start is not None else None

    def set_end_silence(self, ms: int) -> None:
        self.end_frames = max(1, round(ms / 1000 / FRAME_S))

    def reset(self) -> None:
        self._run = self._silence = 0
        self._start = None

    def feed(self, chunk: npt.NDArray[np.int16]) -> list[Segment]:
        """Add audio; return the utterances that ended inside it."""
        self._buffer = np.concatenate([self._buffer, chunk.astype(np.int16, copy=False)])
        out: list[Segment] = []
        while len(self._buffer) >= FRAME:
            frame = self._buffer[:FRAME]
            self._buffer = self._buffer[FRAME:]
            at = self._offset
            self._offset += FRAME
            voiced = self._vad.is_speech(frame.tobytes(), RATE)
            if self._start is None:
                self._run = self._run + 1 if voiced else 0
                if self._run >= self.start_frames:
                    first = at - (self.start_frames - 1) * FRAME
                    self._start = max(0, first - self.pre_roll_frames * FRAME)
                    self._voiced_from = first
                    self._last_voiced = self._offset
                    self._silence = 0
                continue
            if voiced:
                self._silence = 0
                self._last_voiced = self._offset
            else:
                self._silence += 1
            too_long = (self._offset - self._start) >= self.max_frames * FRAME
            if self._silence >= self.end_frames or too_long:
                end = min(self._offset, self._last_voiced + 3 * FRAME)
                out.append(Segment(self._start, end, self._offset, self._voiced_from))
                self.reset()
        return out

    def flush(self) -> list[Segment]:
        """End of stream: close an utterance still open."""
        if self._start is None:
            return []
        seg = Segment(self._start, self._last_voiced, self._offset, self._voiced_from)
        self.reset()
        return [seg]


def split_utterances(
    samples: npt.NDArray[np.int16], endpointer: Endpointer | None = None
) -> list[Segment]:
    ep = endpointer or Endpointer()
    return ep.feed(samples) + ep.flush()
