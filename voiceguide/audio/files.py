"""Audio files and buffers in, 16 kHz mono int16 out (soundfile reads, soxr resamples).

Whatever arrives (any rate, channel count, 8/16/24/32-bit or float, clipped), the
recognizers see one format. What cannot be read is an ``AudioFormatError`` naming the
source and the problem, never a crash inside an engine.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile
import soxr

TARGET_RATE = 16_000
Int16 = npt.NDArray[np.int16]


class AudioFormatError(ValueError):
    """The audio cannot be used; the message names the source and the reason."""


def to_mono16k(data: npt.NDArray[np.generic], rate: int, source: str = "audio") -> Int16:
    """Mix down to mono, resample to 16 kHz (high-quality soxr) and convert to int16."""
    if rate <= 0:
        raise AudioFormatError(f"{source}: invalid sample rate {rate}")
    arr = np.asarray(data)
    if arr.size == 0:
        raise AudioFormatError(f"{source}: contains no samples")
    if arr.ndim == 2:
        arr = arr.astype(np.float32).mean(axis=1)
    elif arr.ndim != 1:
        raise AudioFormatError(f"{source}: expected 1 or 2 dimensions, got {arr.ndim}")
    if np.issubdtype(arr.dtype, np.integer):
        info = np.iinfo(arr.dtype)
        scale = float(max(abs(info.min), info.max))
        offset = (info.max + info.min + 1) / 2 if info.min == 0 else 0.0  # unsigned 8-bit
        floats = (arr.astype(np.float32) - offset) / scale
    else:
        floats = arr.astype(np.float32)
    if not np.all(np.isfinite(floats)):
        raise AudioFormatError(f"{source}: contains NaN or infinite samples")
    if rate != TARGET_RATE:
        floats = soxr.resample(floats, rate, TARGET_RATE, quality="HQ")
    return np.clip(np.round(floats * 32767.0), -32768, 32767).astype(np.int16)


def load_audio(src: str | Path | bytes) -> Int16:
    """Read a file (or in-memory bytes) of any format libsndfile knows; 16 kHz mono int16."""
    name = "<buffer>" if isinstance(src, bytes) else str(src)
    handle: io.BytesIO | str = io.BytesIO(src) if isinstance(src, bytes) else str(src)
    if isinstance(src, str | Path):
        path = Path(src)
        if not path.is_file():
            raise AudioFormatError(f"{name}: no such file")
        if path.stat().st_size == 0:
            raise AudioFormatError(f"{name}: the file is empty")
    try:
        data, rate = soundfile.read(handle, dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioFormatError(f"{name}: not a readable audio file ({exc})") from None
    return to_mono16k(data, int(rate), name)


def write_wav(path: Path, samples: Int16, rate: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), samples, rate, subtype="PCM_16")
