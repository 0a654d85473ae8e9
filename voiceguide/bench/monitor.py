"""What really came out of the speaker: a PulseAudio monitor source recorded by ``parec``
in another process, an outside witness on the device's own clock (benchmarks only)."""

from __future__ import annotations

import subprocess
import tempfile
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

    def so_far(self) -> Int16:
        """Everything recorded until now (the recorder keeps going)."""
        return np.fromfile(self.file.name, dtype=np.int16)

    def stop(self) -> Int16:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        data = self.so_far()
        self.file.close()
        return data
