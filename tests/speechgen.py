"""Test speech from the espeak-ng command line, as 16 kHz mono int16 arrays."""

from __future__ import annotations

import subprocess
from functools import cache

import numpy as np
import numpy.typing as npt

from voiceguide.audio.files import load_audio


@cache
def speak(
    text: str, voice: str = "en-us", speed: int = 150, pitch: int = 50
) -> npt.NDArray[np.int16]:
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", text],
        capture_output=True,
        check=True,
        timeout=30,
    ).stdout
    audio = load_audio(wav)
    pad = np.zeros(4000, dtype=np.int16)  # a quarter second of silence either side
    return np.concatenate([pad, audio, pad])
