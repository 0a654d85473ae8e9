"""Microphone and speaker: the one adapter over sounddevice (PortAudio).

The speaker plays PCM from a queue inside the PortAudio callback, so the runtime knows
when each sound starts and ends and can cut it between two callbacks (a few ms). The
microphone delivers 16 kHz mono int16 blocks on a queue; if the device cannot open at
16 kHz it opens at its own rate and soxr converts.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import queue
import re
import shutil
import subprocess
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import soxr

Int16 = npt.NDArray[np.int16]
MIC_RATE = 16_000
MIC_BLOCK = 480  # 30 ms, the endpointer's frame
#: Output buffering. PortAudio's "low" (9 ms here, filled in 2 ms callbacks) underran
#: again and again on a busy 2-core machine, and every underrun shifts the sound against
#: its schedule. 50 ms held steady under the same load (BENCHMARKS.md, count timing).
OUTPUT_LATENCY_S = 0.05
#: A speaker still "busy" this long after its queued sound should have ended is stalled
#: (a suspended or lost output, a sound server that died): nothing it plays is heard.
STALL_S = 1.5

NO_DEVICE_HINT = (
    "no audio device was found. On a machine without a microphone or speaker, "
    "try `voiceguide demo` (simulated user) or `voiceguide run --text` (keyboard)."
)


class NoAudioDevice(RuntimeError):
    """PortAudio is missing, or the asked-for device does not exist or will not open."""


def _sd() -> Any:
    try:
        import sounddevice
    except OSError as exc:  # the PortAudio library itself is missing
        raise NoAudioDevice(
            f"PortAudio is not installed ({exc}); apt-get install libportaudio2"
        ) from None
    return sounddevice


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    index: int
    name: str
    inputs: int
    outputs: int
    default_rate: float
    default_input: bool
    default_output: bool


def list_devices() -> list[DeviceInfo]:
    sd = _sd()
    try:
        found = sd.query_devices()
        default_in, default_out = sd.default.device
    except sd.PortAudioError as exc:
        raise NoAudioDevice(f"{NO_DEVICE_HINT} ({exc})") from None
    return [
        DeviceInfo(
            index=int(d["index"]),
            name=str(d["name"]),
            inputs=int(d["max_input_channels"]),
            outputs=int(d["max_output_channels"]),
            default_rate=float(d["default_samplerate"]),
            default_input=int(d["index"]) == default_in,
            default_output=int(d["index"]) == default_out,
        )
        for d in found
    ]


def resolve(spec: str | None, kind: str) -> int | None:
    """A device index from an index or a case-insensitive part of a name (None: default)."""
    devices = list_devices()
    usable = [d for d in devices if (d.inputs if kind == "input" else d.outputs) > 0]
    if not usable:
        raise NoAudioDevice(f"no {kind} device: {NO_DEVICE_HINT}")
    if spec is None or spec == "":
        return None
    if spec.isdigit():
        index = int(spec)
        if any(d.index == index for d in usable):
            return index
        raise NoAudioDevice(f"no {kind} device with index {index}; see `voiceguide devices`")
    matches = [d for d in usable if spec.lower() in d.name.lower()]
    if not matches:
        names = ", ".join(repr(d.name) for d in usable)
        raise NoAudioDevice(f"no {kind} device named like {spec!r}; {kind}s here: {names}")
    return matches[0].index


@dataclass(slots=True)
class _Sound:
    ident: int
    pcm: Int16
    #: Monotonic time its first sample should reach the device (None: as soon as possible).
    at: float | None = None
    pos: int = 0


class Speaker:
    """Plays queued PCM; ``stop()`` cuts whatever is playing at the next callback.

    ``onsets[id]`` is when the first sample of sound ``id`` (returned by ``play``) reaches
    the device, on the ``time.monotonic`` scale: the callback's time plus the stream's
    output latency plus the sound's offset inside the block.
    """

    def __init__(self, device: int | None = None, latency: float = OUTPUT_LATENCY_S) -> None:
        sd = _sd()
        self._lock = threading.Lock()
        self._queue: deque[_Sound] = deque()
        self._idle = threading.Event()
        self._idle.set()
        self._ids = itertools.count(1)
        self.onsets: dict[int, float] = {}
        #: When the last sound ended (or was cut), monotonic seconds.
        self.ended_at = 0.0
        #: When everything queued should have been played, at the latest, if the device
        #: keeps pace (monotonic seconds).
        self.expected_end = 0.0
        #: When PortAudio last asked for sound (monotonic seconds).
        self.last_callback = time.monotonic()
        try:
            info = sd.query_devices(device, "output")
            self.rate = int(info["default_samplerate"])
            self._stream = sd.OutputStream(
                samplerate=self.rate,
                channels=1,
                dtype="int16",
                device=device,
                latency=latency,
                callback=self._callback,
            )
            self._latency = float(self._stream.latency)
            self._stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            raise NoAudioDevice(f"the speaker will not open ({exc}); {NO_DEVICE_HINT}") from None

    def _callback(self, outdata: Int16, frames: int, times: Any, _s: object) -> None:
        # When this block will be heard: PortAudio's own estimate (it follows the device's
        # real buffer, which grows after an underrun), else the nominal stream latency.
        ahead = self._latency
        with contextlib.suppress(AttributeError, TypeError):
            reported = float(times.outputBufferDacTime) - float(times.currentTime)
            if times.currentTime > 0 and 0.0 <= reported < 2.0:
                ahead = reported
        self.last_callback = time.monotonic()
        at = self.last_callback + ahead
        out = outdata[:, 0]
        filled = 0
        with self._lock:
            while filled < frames and self._queue:
                sound = self._queue[0]
                if sound.pos == 0:
                    if sound.at is not None:
                        # Sample-exact start: wait inside this block, or for a later one.
                        wait = round((sound.at - at) * self.rate) - filled
                        if wait >= frames - filled:
                            break
                        if wait > 0:
                            out[filled : filled + wait] = 0
                            filled += wait
                    self.onsets[sound.ident] = at + filled / self.rate
                take = min(frames - filled, len(sound.pcm) - sound.pos)
                out[filled : filled + take] = sound.pcm[sound.pos : sound.pos + take]
                sound.pos += take
                filled += take
                if sound.pos >= len(sound.pcm):
                    self._queue.popleft()
            if filled < frames:
                out[filled:] = 0
                if not self._queue and not self._idle.is_set():
                    self.ended_at = at + filled / self.rate
                    self._idle.set()

    @property
    def latency(self) -> float:
        """Seconds from handing a block to PortAudio to its sound at the device."""
        return self._latency

    def play(self, samples: Int16, rate: int, at: float | None = None) -> int:
        """Queue a sound after whatever is playing; returns its id (see ``onsets``).

        ``at``: the monotonic time its first sample should be heard; it waits in silence
        until then (if handed over early enough), so timing does not depend on when this
        thread happened to wake.
        """
        pcm = samples if rate == self.rate else soxr.resample(samples, rate, self.rate)
        sound = _Sound(next(self._ids), np.ascontiguousarray(pcm, dtype=np.int16), at)
        with self._lock:
            start = max(time.monotonic() + self._latency, at or 0.0)
            if not self._idle.is_set():
                start = max(start, self.expected_end)
            self.expected_end = start + len(sound.pcm) / self.rate
            self._queue.append(sound)
            self._idle.clear()
        return sound.ident

    @property
    def stalled(self) -> bool:
        """Busy long past the end of what was queued: the output is not playing.

        While stalled, nothing the guide "says" is heard, so what the microphone hears
        is not its echo either."""
        return self.busy and time.monotonic() > self.expected_end + STALL_S

    def stop(self) -> None:
        with self._lock:
            self._queue.clear()
            if not self._idle.is_set():
                self.ended_at = time.monotonic()
                self._idle.set()

    @property
    def busy(self) -> bool:
        return not self._idle.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._idle.wait(timeout)

    def close(self) -> None:
        self.stop()
        self._stream.close()


class Microphone:
    """16 kHz mono int16 blocks of 30 ms on a queue; ``alive`` turns False if the device
    goes away."""

    def __init__(self, device: int | None = None) -> None:
        sd = _sd()
        self._blocks: queue.Queue[Int16] = queue.Queue(maxsize=2000)
        self.overflows = 0
        self._resampler: soxr.ResampleStream | None = None
        try:
            try:
                self._stream = self._open(sd, device, MIC_RATE, MIC_BLOCK)
            except sd.PortAudioError:
                rate = int(sd.query_devices(device, "input")["default_samplerate"])
                self._resampler = soxr.ResampleStream(rate, MIC_RATE, 1, dtype="int16")
                self._stream = self._open(sd, device, rate, rate * MIC_BLOCK // MIC_RATE)
            self._stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            raise NoAudioDevice(f"the microphone will not open ({exc}); {NO_DEVICE_HINT}") from None

    def _open(self, sd: Any, device: int | None, rate: int, block: int) -> Any:
        return sd.InputStream(
            samplerate=rate,
            channels=1,
            dtype="int16",
            device=device,
            blocksize=block,
            latency="low",
            callback=self._callback,
        )

    def _callback(self, indata: npt.NDArray[np.int16], _f: int, _t: object, status: object) -> None:
        if status:
            self.overflows += 1
        block = indata[:, 0].copy()
        if self._resampler is not None:
            block = self._resampler.resample_chunk(block)
        try:
            self._blocks.put_nowait(block)
        except queue.Full:
            self.overflows += 1

    def read(self, timeout: float) -> Int16 | None:
        try:
            return self._blocks.get(timeout=timeout)
        except queue.Empty:
            return None

    @property
    def alive(self) -> bool:
        return bool(self._stream.active)

    def source(self) -> str | None:
        """The sound server's name for the source this process records from, where the
        server can say (PulseAudio, or PipeWire's PulseAudio service); else None.

        PulseAudio moves a recording to another source, without a word to PortAudio,
        when its source goes away: this is how that move can be seen.
        """
        return pulse_source_of(os.getpid())

    def close(self) -> None:
        self._stream.close()


def _pactl(*args: str) -> str | None:
    if shutil.which("pactl") is None:
        return None
    try:
        done = subprocess.run(
            ["pactl", *args], capture_output=True, text=True, timeout=2, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def pulse_source_of(pid: int) -> str | None:
    """Name of the PulseAudio source that process ``pid`` records from (None: unknown)."""
    outputs = _pactl("list", "source-outputs")
    if outputs is None:
        return None
    indexes = [
        m.group(1)
        for block in outputs.split("Source Output #")[1:]
        if f'application.process.id = "{pid}"' in block
        and (m := re.search(r"^\s*Source: (\d+)", block, re.M))
    ]
    if not indexes:
        return None
    names = {}
    for line in (_pactl("list", "short", "sources") or "").splitlines():
        fields = line.split("\t")
        if len(fields) > 1:
            names[fields[0]] = fields[1]
    return names.get(indexes[0], f"source #{indexes[0]}")
