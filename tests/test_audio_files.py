"""Audio input: every format becomes 16 kHz mono int16; bad input is a clear error."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile

from voiceguide.audio.files import AudioFormatError, load_audio, to_mono16k


def tone(rate: int, seconds: float = 0.5, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return 0.5 * np.sin(2 * np.pi * freq * t)


def dominant_freq(x: np.ndarray, rate: int = 16_000) -> float:
    spectrum = np.abs(np.fft.rfft(x.astype(np.float64)))
    return float(np.argmax(spectrum) * rate / len(x))


@pytest.mark.parametrize(
    ("rate", "channels", "subtype"),
    [
        (16000, 1, "PCM_16"),
        (48000, 2, "PCM_16"),
        (8000, 1, "PCM_U8"),
        (44100, 1, "PCM_24"),
        (22050, 2, "FLOAT"),
    ],
)
def test_formats_convert_to_16k_mono(
    tmp_path: Path, rate: int, channels: int, subtype: str
) -> None:
    x = tone(rate)
    data = np.stack([x] * channels, axis=1) if channels > 1 else x
    path = tmp_path / "in.wav"
    soundfile.write(path, data, rate, subtype=subtype)
    out = load_audio(path)
    assert out.dtype == np.int16 and out.ndim == 1
    assert abs(len(out) - 8000) <= 2
    assert abs(dominant_freq(out) - 440.0) < 5.0
    assert 0.4 * 32767 < np.abs(out).max() < 0.6 * 32767


def test_clipped_audio_stays_in_range() -> None:
    x = np.clip(tone(16000) * 4, -1.5, 1.5)
    out = to_mono16k(x.astype(np.float32), 16000)
    assert out.max() == 32767 and out.min() == -32768


def test_in_memory_buffer() -> None:
    buf = io.BytesIO()
    soundfile.write(buf, tone(24000), 24000, format="WAV")
    assert len(load_audio(buf.getvalue())) == 8000


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty"), (b"this is not audio at all" * 10, "not a readable audio file")],
)
def test_bad_files_are_clear_errors(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(AudioFormatError, match=message):
        load_audio(path)


def test_missing_and_zero_length_audio(tmp_path: Path) -> None:
    with pytest.raises(AudioFormatError, match="no such file"):
        load_audio(tmp_path / "nope.wav")
    path = tmp_path / "zero.wav"
    soundfile.write(path, np.zeros(0), 16000)
    with pytest.raises(AudioFormatError, match="no samples"):
        load_audio(path)
    with pytest.raises(AudioFormatError, match="NaN"):
        to_mono16k(np.array([0.0, np.nan], dtype=np.float32), 16000)
