"""What really came out of the speaker: a PulseAudio monitor source recorded by ``parec``
in another process, an outside witness on the device's own clock (benchmarks only)."""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time

import numpy as np

from voiceguide.audio.devices import Int16
from voiceguide.audio.vad import RATE


class MonitorRecording:
    """Records ``source`` (e.g. ``vspeaker.monitor``) at 16 kHz mono from construction on."""

    def __init__(self, source: str) -> None:
        self.file = tempfile.NamedTemporaryFile(suffix=".raw")  # noqa: SIM115 - closed in stop
        self.proc = subprocess.Popen(
            ["parec", f"--device={source}", "--format=s16le", f"--rate={RATE}", "--channels=1",
             "--raw", "--latency-msec=10"],
            stdout=self.file, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.started = time.monotonic()
        # Sample 0's monotonic time, from the recording itself: each time the file is seen
        # to grow, t - samples/RATE is an upper bound on it; the lowest bound seen is the
        # estimate (late by at most the recorder's own 10 ms latency and the poll period).
        self._zero = float("inf")
        self._watching = True
        self._watcher = threading.Thread(target=self._watch, daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        while self._watching:
            n = os.stat(self.file.name).st_size // 2
            now = time.monotonic()
            if n > 0:
                self._zero = min(self._zero, now - n / RATE)
            time.sleep(0.002)

    def time_of(self, index: int) -> float:
        """The monotonic instant at which sample ``index`` of the recording was heard."""
        if self._zero == float("inf"):
            raise RuntimeError("the recorder has not recorded anything")
        return self._zero + index / RATE

    def index_at(self, t: float) -> int:
        """The recording's sample heard at monotonic instant ``t``."""
        return round((t - self.time_of(0)) * RATE)

    def so_far(self) -> Int16:
        """Everything recorded until now (the recorder keeps going)."""
        return np.fromfile(self.file.name, dtype=np.int16)

    def stop(self) -> Int16:
        self._watching = False
        self._watcher.join(timeout=1)
        self.proc.terminate()
        self.proc.wait(timeout=10)
        data = self.so_far()
        self.file.close()
        return data
