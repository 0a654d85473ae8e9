"""The pyttsx3 adapter through the real engine: what it renders is what is heard."""

from __future__ import annotations

import shutil
import threading
import time
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from voiceguide.speech.synthesis import RENDER_TRIES, Pcm, SynthesisUnavailable, Synthesizer

pytestmark = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (scripts/setup)"
)


def _driver_writes_empty(
    synth: Synthesizer, times: int, monkeypatch: pytest.MonkeyPatch
) -> list[str]:
    """pyttsx3's espeak driver now and then writes a WAV header with no samples. Make the
    real engine do that ``times`` times: it renders to a decoy file, and the file the
    adapter asked for gets the header only. (pyttsx3 shares one engine per process, so
    the patch must be undone after the test.)"""
    real: Callable[[str, str], None] = synth._engine.save_to_file
    asked: list[str] = []

    def save_to_file(text: str, path: str) -> None:
        asked.append(text)
        if len(asked) <= times:
            real(text, str(Path(path).with_name("decoy.wav")))
            with wave.open(path, "wb") as f:
                f.setnchannels(1)
                f.setsampwidth(2)
                f.setframerate(22050)
        else:
            real(text, path)

    monkeypatch.setattr(synth._engine, "save_to_file", save_to_file)
    return asked


def test_an_empty_render_is_tried_again(monkeypatch: pytest.MonkeyPatch) -> None:
    synth = Synthesizer(probe=False)
    # The real driver races too, now and then (the start-up render, or any other): one
    # try is left spare for it, and only what this render added is counted.
    before = synth.empty_renders
    injected = RENDER_TRIES - 2
    asked = _driver_writes_empty(synth, times=injected, monkeypatch=monkeypatch)
    pcm = synth.render("Stay still and call for help.")
    assert pcm.seconds > 1.0 and abs(pcm.samples).max() > 1000
    retried = synth.empty_renders - before
    assert retried >= injected and len(asked) == retried + 1  # every empty one tried again


def test_an_engine_that_only_writes_empty_files_is_reported_not_played_as_silence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    synth = Synthesizer(probe=False)
    _driver_writes_empty(synth, times=10 * RENDER_TRIES, monkeypatch=monkeypatch)
    with pytest.raises(SynthesisUnavailable, match="no audio"):
        synth.render("Call emergency services now.")
    assert "Call emergency services now." not in {k[0] for k in synth._cache}


def test_a_render_still_being_written_is_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    """pyttsx3's loop can return while libespeak-ng's thread is still writing the file;
    the adapter must wait for the driver, not read it half-written or try again."""
    synth = Synthesizer(probe=False)
    driver = synth._engine.proxy._driver
    real_save: Callable[[str, str], None] = synth._engine.save_to_file
    real_run: Callable[[], None] = synth._engine.runAndWait
    asked: list[Path] = []
    finishers: list[threading.Thread] = []

    def save_to_file(text: str, path: str) -> None:
        asked.append(Path(path))
        real_save(text, str(Path(path).with_name("decoy.wav")))

    def run_and_wait() -> None:
        real_run()  # the whole render goes to the decoy
        wanted = asked[-1]

        def finish() -> None:  # the file the adapter asked for is complete only later
            time.sleep(0.2)
            shutil.copyfile(wanted.with_name("decoy.wav"), wanted)
            driver._speaking = False

        driver._speaking = True
        finishers.append(threading.Thread(target=finish))
        finishers[-1].start()

    monkeypatch.setattr(synth._engine, "save_to_file", save_to_file)
    monkeypatch.setattr(synth._engine, "runAndWait", run_and_wait)
    before = synth.empty_renders
    pcm = synth.render("Do not try to put the hip back yourself.")
    for t in finishers:
        t.join()
    assert len(finishers) == 1 and synth.empty_renders == before
    assert pcm.seconds > 1.0 and abs(pcm.samples).max() > 1000


def test_a_render_that_cannot_be_read_is_tried_again(monkeypatch: pytest.MonkeyPatch) -> None:
    synth = Synthesizer(probe=False)
    real: Callable[[str, str], None] = synth._engine.save_to_file
    asked: list[str] = []

    def save_to_file(text: str, path: str) -> None:
        asked.append(text)
        if len(asked) == 1:  # a file cut short inside its header
            real(text, str(Path(path).with_name("decoy.wav")))
            Path(path).write_bytes(b"RIFF\x10\x00")
        else:
            real(text, path)

    monkeypatch.setattr(synth._engine, "save_to_file", save_to_file)
    pcm = synth.render("Stay where you are.")
    assert len(asked) == 2 and pcm.seconds > 0.5 and abs(pcm.samples).max() > 1000


def test_text_without_words_is_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    synth = Synthesizer(probe=False)
    asked = _driver_writes_empty(synth, times=10, monkeypatch=monkeypatch)
    synth.render("...")
    assert len(asked) == 1


def _pitch_hz(pcm: Pcm) -> float:
    """Median pitch over the loud 40 ms frames (autocorrelation, 70-400 Hz)."""
    x, sr = pcm.samples.astype(np.float64), pcm.sample_rate
    n = int(0.04 * sr)
    lo, hi = sr // 400, sr // 70
    found = []
    for i in range(0, len(x) - n, n):
        w = x[i : i + n] - x[i : i + n].mean()
        if np.sqrt(np.mean(w**2)) < 500:
            continue
        ac = np.correlate(w, w, "full")[n - 1 :]
        found.append(sr / (lo + int(np.argmax(ac[lo:hi]))))
    return float(np.median(found))


def test_every_render_has_its_own_rate_and_voice_whatever_came_before() -> None:
    """What "slower" and the voices are heard as: pyttsx3 2.99 queues a setting where a
    busy espeak-ng could cancel it, and a sentence then came out at the previous render's
    rate or voice (about one render in three when they alternate)."""
    synth = Synthesizer(probe=False)
    text = "we walked along the river"
    seconds: dict[float, list[float]] = {}
    for i in range(24):
        rate = (1.0, 1.5, 0.6)[i % 3]
        synth._cache.clear()  # every one rendered, none reused
        seconds.setdefault(rate, []).append(synth.render(text, rate=rate).seconds)
    slow, normal, fast = (seconds[r] for r in (0.6, 1.0, 1.5))
    assert max(fast) < min(normal) and max(normal) < min(slow), seconds
    pitches: dict[str, list[float]] = {}
    for i in range(12):
        voice = ("gmw/en-us+f5", "gmw/en-us+m3")[i % 2]
        synth._cache.clear()
        pitches.setdefault(voice, []).append(_pitch_hz(synth.render(text, voice=voice)))
    assert max(pitches["gmw/en-us+m3"]) < 150 < min(pitches["gmw/en-us+f5"]), pitches
