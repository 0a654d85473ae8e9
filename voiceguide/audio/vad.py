"""Voice activity and end-of-utterance detection: the one adapter over webrtcvad.

Works in 30 ms frames of 16 kHz int16 audio; every timing is in frames, not wall time,
so the same audio always gives the same segments (testable without a microphone).
"""

from __future__ import annotations

from collections import deque
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


#: A voiced frame counts as speech only this far over the room's level (the median frame
#: level of the last FLOOR_FRAMES). In a room with talk in it (a TV, others speaking) the
#: voice activity detector calls every frame voiced, so an utterance opened on the room's
#: chatter ran on into the answer and past it: at 10 dB SNR most "no"s were decoded
#: inside seconds of babble. Bench asr on dev at 10 dB: unsafe "no"s 4 -> 0 of 1,246,
#: reject_unknown 0.919 -> 0.972; 6 and 10 dB margins did no better (BENCHMARKS, session 7).
FLOOR_MARGIN_DB = 8.0
FLOOR_FRAMES = 66  # 2 s
#: The room's level is learned outside utterances only, so an answer's own voice does not
#: become the room it is judged against; but after this long in one, it is learned again,
#: so talk that starts up (a TV switched on) does not hold an utterance open for 12 s.
ROOM_HELD_FRAMES = 100  # 3 s
#: Where the voice activity detector calls the room voiced too (talk), an utterance ends
#: after this many times its end silence under the room's level. Twice ended a quiet
#: room's "no" a frame sooner than without the gate; four times left so much talk in the
#: cut that bench asr at 10 dB fell back (BENCHMARKS, session 7).
UNDER_ROOM_ENDS = 3
#: Frames heard before the room's level is known; until then every voiced frame counts.
FLOOR_MIN_FRAMES = 10
#: Before the room's level is known (the guide talked from the start, and its echo is not
#: the room), an utterance is learned as the room only after this long: an answer given
#: at once is not, and talk that was there from the start soon is.
FIRST_ROOM_FRAMES = 33  # 1 s


def frame_powers(samples: npt.NDArray[np.int16]) -> npt.NDArray[np.float64]:
    """Mean power of each whole FRAME of ``samples`` (a trailing part frame is left out)."""
    n = len(samples) // FRAME
    frames = samples[: n * FRAME].astype(np.float64).reshape(n, FRAME)
    return np.asarray(np.mean(frames**2, axis=1), dtype=np.float64)


def frame_level_db(frame: npt.NDArray[np.int16]) -> float:
    """Mean power of a frame in dB over one int16 step squared (digital silence: 0)."""
    f = frame.astype(np.float64)
    return float(10.0 * np.log10(float(np.dot(f, f)) / max(1, len(f)) + 1.0))


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
    #: 0 turns the room-level gate off (FLOOR_MARGIN_DB).
    floor_margin_db: float = FLOOR_MARGIN_DB
    _floor: deque[float] = field(init=False, repr=False)
    #: The room's level: the median of ``_floor``, kept as it is learned (None: not known).
    _room: float | None = field(default=None, init=False)
    _vad: webrtcvad.Vad = field(init=False, repr=False)
    _buffer: npt.NDArray[np.int16] = field(init=False, repr=False)
    _offset: int = field(default=0, init=False)
    _run: int = field(default=0, init=False)
    _silence: int = field(default=0, init=False)
    _start: int | None = field(default=None, init=False)
    #: The end of the last frame the voice activity detector called voiced, over the
    #: room or not, and the unvoiced frames since (``_unheard``). An utterance ends as it
    #: did before the room's level was gated: ``end_frames`` after the detector's last
    #: voiced frame, keeping the quiet tail a word trails off into (ending it at the last
    #: frame over the room cut 60 ms of it, and the demo's en-us+m1 "no" was heard as
    #: "though"). Where the detector calls the room voiced too (talk), it ends after
    #: UNDER_ROOM_ENDS times ``end_frames`` under the room's level instead.
    _last_heard: int = field(default=0, init=False)
    _unheard: int = field(default=0, init=False)
    _voiced_from: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self._vad = webrtcvad.Vad(self.aggressiveness)
        self._buffer = np.zeros(0, dtype=np.int16)
        self._floor = deque(maxlen=FLOOR_FRAMES)

    @property
    def in_speech(self) -> bool:
        return self._start is not None

    @property
    def speech_from(self) -> int | None:
        """Where the voice of the utterance now open began (None: none is open)."""
        return self._voiced_from if self._start is not None else None

    def _learn(self, level: float) -> None:
        self._floor.append(level)
        if len(self._floor) >= FLOOR_MIN_FRAMES:
            self._room = float(np.median(np.fromiter(self._floor, float)))

    def _is_room(self) -> bool:
        """Whether the frame now heard is the room's: outside an utterance, or so long
        into one that it is the room (talk that started up, a TV switched on) and not a
        person answering."""
        if self._start is None:
            return True
        held = ROOM_HELD_FRAMES if self._room is not None else FIRST_ROOM_FRAMES
        return self._offset - self._voiced_from > held * FRAME

    def set_end_silence(self, ms: int) -> None:
        self.end_frames = max(1, round(ms / 1000 / FRAME_S))

    def reset(self) -> None:
        self._run = self._silence = self._unheard = 0
        self._start = None

    def feed(self, chunk: npt.NDArray[np.int16], learn: bool = True) -> list[Segment]:
        """Add audio; return the utterances that ended inside it. ``learn=False``: the
        chunk is not the room (the guide was playing: its echo), so the room's level is
        not learned from it; a voice over the guide is judged against the room before."""
        self._buffer = np.concatenate([self._buffer, chunk.astype(np.int16, copy=False)])
        out: list[Segment] = []
        while len(self._buffer) >= FRAME:
            frame = self._buffer[:FRAME]
            self._buffer = self._buffer[FRAME:]
            at = self._offset
            self._offset += FRAME
            level = frame_level_db(frame)
            room = self._room
            over_room = (
                room is None or self.floor_margin_db <= 0 or level >= room + self.floor_margin_db
            )
            heard = self._vad.is_speech(frame.tobytes(), RATE)
            voiced = heard and over_room
            if learn and self._is_room():
                self._learn(level)
            if self._start is None:
                self._run = self._run + 1 if voiced else 0
                if self._run >= self.start_frames:
                    first = at - (self.start_frames - 1) * FRAME
                    self._start = max(0, first - self.pre_roll_frames * FRAME)
                    self._voiced_from = first
                    self._last_heard = self._offset
                    self._silence = self._unheard = 0
                continue
            if heard:
                self._last_heard = self._offset
                self._unheard = 0
            else:
                self._unheard += 1
            self._silence = 0 if voiced else self._silence + 1
            ended = (
                self._unheard >= self.end_frames
                or self._silence >= UNDER_ROOM_ENDS * self.end_frames
            )
            too_long = (self._offset - self._start) >= self.max_frames * FRAME
            if ended or too_long:
                end = min(self._offset, self._last_heard + 3 * FRAME)
                out.append(Segment(self._start, end, self._offset, self._voiced_from))
                self.reset()
        return out

    def flush(self) -> list[Segment]:
        """End of stream: close an utterance still open."""
        if self._start is None:
            return []
        seg = Segment(self._start, self._last_heard, self._offset, self._voiced_from)
        self.reset()
        return [seg]


def split_utterances(
    samples: npt.NDArray[np.int16], endpointer: Endpointer | None = None
) -> list[Segment]:
    ep = endpointer or Endpointer()
    return ep.feed(samples) + ep.flush()
