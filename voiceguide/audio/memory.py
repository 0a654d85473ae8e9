"""An audio transport in memory: a speaker, a room and a microphone in virtual time.

The hands-free runtime (``runtime/voice.VoiceIO`` driven by ``runtime/session.Session``)
runs on it unchanged, listening thread and all. The speaker and the microphone live on
one ``FakeClock``, and time moves only when the session waits for input: the session's
wait (``MemoryTransport.inputs``) hands the listening thread one 30 ms block and waits
until it has been endpointed, decoded and turned into an event. So every run gives the
same result, and ten minutes of session take seconds. Decoding takes no virtual time.

The room: the microphone hears the speaker's output through an echo path (delay, gain,
a decaying reverberant tail), the simulated user's speech placed at given virtual
instants (nearer the microphone, with less of the room's tail), and a noise floor.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt
import soxr

from voiceguide.audio.devices import OUTPUT_LATENCY_S, Int16
from voiceguide.audio.vad import FRAME, RATE
from voiceguide.dialogue.clock import FakeClock
from voiceguide.dialogue.events import InputEnded, InputEvent

Float = npt.NDArray[np.float32]
#: Real seconds the session waits for the listening thread to take one block; only a
#: hung decoder gets near it.
HANDOFF_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class RoomSpec:
    """How the simulated room sounds. ``RoomSpec(reverb_s=0, noise_dbfs=None)`` is a bare
    loop: the speaker copied into the microphone."""

    #: Level of the guide's voice at the microphone, against the sound played.
    echo_gain: float = 0.6
    #: Speaker to microphone: the sound's flight plus the converters.
    echo_delay_s: float = 0.01
    #: Reverberation time (60 dB decay) of the room; 0 for none.
    reverb_s: float = 0.0
    #: Energy of the reverberant tail against the direct sound, for the speaker...
    echo_reverb: float = 0.5
    #: ...and for the user, who sits nearer the microphone.
    user_reverb: float = 0.15
    #: Noise floor (white), RMS in dB below full scale; None for digital silence.
    noise_dbfs: float | None = -62.0
    seed: int = 0


def impulse_response(
    reverb_s: float, tail_energy: float, delay_s: float, gain: float, seed: int
) -> Float:
    """A direct path after ``delay_s``, then exponentially decaying noise (60 dB over
    ``reverb_s``) carrying ``tail_energy`` times the direct sound's energy."""
    delay = round(delay_s * RATE)
    n = int(reverb_s * RATE)
    ir = np.zeros(delay + max(1, n), dtype=np.float64)
    ir[delay] = 1.0
    if n > 1 and tail_energy > 0:
        rng = np.random.default_rng(seed)
        tail = rng.standard_normal(n - 1) * np.exp(-6.9 * np.arange(1, n) / n)
        ir[delay + 1 :] = tail * math.sqrt(tail_energy / float(np.sum(tail**2)))
    return (ir * gain).astype(np.float32)


def _convolve(x: Float, h: Float) -> Float:
    n = len(x) + len(h) - 1
    size = 1 << (n - 1).bit_length()
    y = np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(h, size), size)[:n]
    return y.astype(np.float32)


@dataclass
class _Source:
    start: int
    dry: Float
    ir: Float
    wet: Float | None = None

    def rendered(self) -> Float:
        if self.wet is None:
            self.wet = _convolve(self.dry, self.ir) if len(self.dry) else self.dry
        return self.wet


class Room:
    """Mixes the microphone's blocks from sounds placed on a sample timeline."""

    def __init__(self, spec: RoomSpec) -> None:
        self.spec = spec
        self._noise = np.random.default_rng(spec.seed)
        self._echo_ir = impulse_response(
            spec.reverb_s, spec.echo_reverb, spec.echo_delay_s, spec.echo_gain, spec.seed + 1
        )
        self._user_ir = impulse_response(spec.reverb_s, spec.user_reverb, 0.0, 1.0, spec.seed + 2)
        self._sources: dict[int, _Source] = {}
        self._ids = itertools.count(1)
        self._sigma = 0.0 if spec.noise_dbfs is None else 32768 * 10 ** (spec.noise_dbfs / 20)

    def add(self, samples: Int16, start: int, echo: bool) -> int:
        """Place 16 kHz ``samples`` from sample ``start`` on; returns an id for ``cut``."""
        ident = next(self._ids)
        ir = self._echo_ir if echo else self._user_ir
        self._sources[ident] = _Source(start, samples.astype(np.float32), ir)
        return ident

    def cut(self, ident: int, at: int) -> None:
        """The sound stops at sample ``at`` (its reverberant tail still rings out)."""
        src = self._sources.get(ident)
        if src is None:
            return
        if at <= src.start:
            del self._sources[ident]
        elif at < src.start + len(src.dry):
            src.dry = src.dry[: at - src.start]
            src.wet = None

    def capture(self, start: int, n: int = FRAME) -> Int16:
        """What the microphone hears from sample ``start`` for ``n`` samples. Called in
        order: the noise floor is drawn block after block."""
        out = np.zeros(n, dtype=np.float32)
        if self._sigma:
            out += (self._noise.standard_normal(n) * self._sigma).astype(np.float32)
        for ident, src in list(self._sources.items()):
            wet = src.rendered()
            lo, hi = start - src.start, start - src.start + n
            if lo >= len(wet):
                del self._sources[ident]  # rung out, and the timeline only moves on
                continue
            if hi <= 0:
                continue
            a, b = max(0, lo), min(len(wet), hi)
            out[a - lo : b - lo] += wet[a:b]
        return np.clip(np.rint(out), -32768, 32767).astype(np.int16)


@dataclass(frozen=True)
class Played:
    """One sound the speaker was given, as given (for WAV files and checks)."""

    ident: int
    samples: Int16
    rate: int
    start: float
    end: float


class MemorySpeaker:
    """``audio.devices.Speaker``'s interface, playing into a ``Room`` in virtual time.

    As on a device, a sound starts ``latency`` after it is handed over (or at ``at``, or
    after what is queued), and ``stop()`` cuts it once the audio already handed to the
    device has played (``latency`` later); ``ended_at`` is when it was stopped.
    """

    def __init__(
        self,
        clock: FakeClock,
        room: Room,
        to_sample: Callable[[float], int],
        latency: float = OUTPUT_LATENCY_S,
        advance: Callable[[float], None] | None = None,
    ) -> None:
        self.clock = clock
        self.room = room
        self.rate = RATE
        self.onsets: dict[int, float] = {}
        self.played: list[Played] = []
        self._to_sample = to_sample
        self._latency = latency
        self._advance = advance or clock.set
        self._ids = itertools.count(1)
        self._in_room: dict[int, int] = {}
        #: When what is queued ends (or when it was stopped), and when the sound before
        #: this busy stretch ended.
        self._end = self._before = clock.now()

    @property
    def latency(self) -> float:
        return self._latency

    @property
    def busy(self) -> bool:
        return self.clock.now() < self._end

    @property
    def ended_at(self) -> float:
        """When the last sound ended or was cut (while busy: the one before)."""
        return self._before if self.busy else self._end

    def play(self, samples: Int16, rate: int, at: float | None = None) -> int:
        now = self.clock.now()
        start = now + self._latency
        if self.busy:
            start = max(start, self._end)
        else:
            self._before = self._end
        if at is not None:
            start = max(start, at)
        pcm = samples if rate == RATE else soxr.resample(samples, rate, RATE)
        pcm = np.ascontiguousarray(pcm, dtype=np.int16)
        ident = next(self._ids)
        first = self._to_sample(start)
        self._in_room[ident] = self.room.add(pcm, first, echo=True)
        self._end = start + len(pcm) / RATE
        self.onsets[ident] = start
        self.played.append(Played(ident, samples, rate, start, self._end))
        return ident

    def stop(self) -> None:
        if not self.busy:
            return
        now = self.clock.now()
        cut = self._to_sample(now + self._latency)
        for ident in self._in_room.values():
            self.room.cut(ident, cut)
        self._in_room.clear()
        for i, p in enumerate(self.played):
            if p.end > now + self._latency:
                self.played[i] = Played(
                    p.ident, p.samples, p.rate, p.start, max(p.start, now + self._latency)
                )
        self._end = now

    def wait(self, timeout: float | None = None) -> bool:
        """Let virtual time run (the room and the listener with it) until the sound ends."""
        if self.busy:
            until = self._end if timeout is None else min(self._end, self.clock.now() + timeout)
            self._advance(until)
        return not self.busy

    def close(self) -> None:
        self.stop()


class MemoryMicrophone:
    """``runtime.voice.AudioInput``: hands the listening thread the blocks the transport
    releases, one at a time, and tells the transport when the last one was dealt with
    (the listener is back, asking for the next)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._pending: Int16 | None = None
        self._asking = False
        self._closed = False
        self._reader: threading.Thread | None = None

    # the listening thread's side (AudioInput)

    def read(self, timeout: float) -> Int16 | None:
        with self._cond:
            self._reader = threading.current_thread()
            self._asking = True
            self._cond.notify_all()
            if not self._cond.wait_for(lambda: self._pending is not None or self._closed, timeout):
                return None
            block, self._pending = self._pending, None
            self._asking = self._closed
            return block

    @property
    def alive(self) -> bool:
        return not self._closed

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    # the transport's side

    def deliver(self, block: Int16) -> bool:
        """Hand ``block`` over and wait until it has been processed; False if nobody
        listens (closed, or the listening thread has ended)."""
        with self._cond:
            if not self._wait_listener():
                return False
            self._pending = block
            self._asking = False
            self._cond.notify_all()
            return self._wait_listener()

    def _wait_listener(self) -> bool:
        waited = 0.0
        while not (self._asking and self._pending is None):
            if self._closed or (self._reader is not None and not self._reader.is_alive()):
                self._pending = None
                return False
            if waited >= HANDOFF_TIMEOUT_S:
                raise RuntimeError("the listening thread stopped taking audio")
            self._cond.wait(0.05)
            waited += 0.05
        return not self._closed


class EventSource(Protocol):
    """Where the session's events come from (``VoiceIO``): ``runtime.session.InputSource``."""

    def get(self, timeout: float | None) -> InputEvent | None: ...


@dataclass
class MemoryTransport:
    """A virtual clock with a room, a speaker and a microphone on it, and the stepping
    of time. Wire it as the hands-free command wires devices::

        t = MemoryTransport(RoomSpec())
        io = VoiceIO(content, recognizer, synth, t.speaker, t.open_mic, clock=t.clock)
        Session(dialogue, LeadClock(t.clock, ...), t.inputs(io), io).run()
    """

    spec: RoomSpec = field(default_factory=RoomSpec)
    clock: FakeClock = field(default_factory=FakeClock)
    latency: float = OUTPUT_LATENCY_S
    #: Keep every block the microphone delivered (``recording()``).
    record: bool = False
    #: Called before each block with its start instant: a simulated user acts here.
    on_block: list[Callable[[float], None]] = field(default_factory=list)
    #: Called with each event the session is handed.
    on_event: list[Callable[[InputEvent], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.t0 = self.clock.now()
        self.room = Room(self.spec)
        self.speaker = MemorySpeaker(
            self.clock, self.room, self.to_sample, self.latency, advance=self.run_until
        )
        self.mic: MemoryMicrophone | None = None
        self.blocks = 0
        self._recorded: list[Int16] = []

    def to_sample(self, t: float) -> int:
        return round((t - self.t0) * RATE)

    def open_mic(self) -> MemoryMicrophone:
        """For ``VoiceIO(open_mic=...)``."""
        self.mic = MemoryMicrophone()
        return self.mic

    def say(self, samples: Int16, at: float) -> tuple[float, float]:
        """The user's 16 kHz speech, starting at virtual instant ``at``; (start, end)."""
        first = self.to_sample(at)
        self.room.add(samples, first, echo=False)
        start = self.t0 + first / RATE
        return start, start + len(samples) / RATE

    @property
    def next_block_end(self) -> float:
        """When the next block is complete (and the clock stands, once it is delivered)."""
        return self.t0 + (self.blocks + 1) * FRAME / RATE

    def step(self) -> None:
        """One 30 ms block: the user acts, the room is heard, the listener processes it."""
        begin = self.t0 + self.blocks * FRAME / RATE
        for hook in self.on_block:
            hook(max(begin, self.clock.now()))
        block = self.room.capture(self.blocks * FRAME)
        end = self.next_block_end
        self.blocks += 1
        self.clock.set(max(self.clock.now(), end))
        if self.record:
            self._recorded.append(block)
        if self.mic is not None:
            self.mic.deliver(block)

    def run_until(self, t: float) -> None:
        """Let the room run until virtual instant ``t``."""
        while self.next_block_end <= t:
            self.step()
        if t > self.clock.now():
            self.clock.set(t)

    def recording(self) -> Int16:
        """Everything the microphone heard (with ``record=True``)."""
        if not self._recorded:
            return np.zeros(0, dtype=np.int16)
        joined: Int16 = np.concatenate(self._recorded)
        return joined

    def inputs(self, source: EventSource, limit_s: float = 3600.0) -> TimedInput:
        """The session's input source: ``source``'s events, with waits in virtual time."""
        return TimedInput(self, source, limit_s)


class TimedInput:
    """``Session``'s input source on a ``MemoryTransport``: waiting ``timeout`` seconds
    means letting the room run that long in virtual time, block by block, and returning
    as soon as the listener has an event."""

    def __init__(self, transport: MemoryTransport, source: EventSource, limit_s: float) -> None:
        self.transport = transport
        self.source = source
        self.limit = transport.t0 + limit_s

    def get(self, timeout: float | None) -> InputEvent | None:
        t = self.transport
        deadline = None if timeout is None else t.clock.now() + timeout
        while True:
            event = self.source.get(0)
            if event is None and t.clock.now() >= self.limit:
                event = InputEnded()
            if event is not None:
                for hook in t.on_event:
                    hook(event)
                return event
            if deadline is not None and deadline <= t.clock.now():
                return None
            # Between blocks, land on the deadline itself, so wake-ups keep their instant.
            if deadline is not None and deadline < t.next_block_end:
                t.clock.set(max(t.clock.now(), deadline))
                return None
            t.step()
