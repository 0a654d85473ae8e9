"""Speech output: the one adapter over pyttsx3 (espeak-ng on Linux).

Every sentence is rendered to PCM with ``save_to_file`` and played by ``audio/devices``,
never with pyttsx3's own ``say()`` (which shells out to ``aplay`` and returns before the
sound ends). Owning the PCM means the runtime knows exactly when speech starts and ends,
can cut it mid-word, and tests can capture it. Renders are cached by text, voice and rate,
so a repeated prompt or count word starts in microseconds.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile

#: pyttsx3's espeak driver speaks at about this many words per minute at rate 1.0.
BASE_WPM = 175
MIN_RATE, MAX_RATE = 0.5, 1.6


class SynthesisUnavailable(RuntimeError):
    """pyttsx3 or espeak-ng is missing or broken; the message says how to fix it."""


@dataclass(frozen=True, slots=True)
class Pcm:
    samples: npt.NDArray[np.int16]
    sample_rate: int

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.sample_rate

    def scaled(self, volume: float) -> Pcm:
        """The same sound at ``volume`` in [0, 1] (applied here, so renders stay cached)."""
        if volume >= 0.999:
            return self
        v = max(0.0, min(1.0, volume))
        return Pcm((self.samples.astype(np.float32) * v).astype(np.int16), self.sample_rate)


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    # The espeak driver print()s "Audio saved to ..."; keep it out of captions and pipes.
    # Python-level only, on purpose: pointing fd 1 at /dev/null would also swallow
    # captions that other threads flush while a render runs.
    with contextlib.redirect_stdout(io.StringIO()):
        yield


class Synthesizer:
    def __init__(self, voice: str | None = None) -> None:
        try:
            import pyttsx3
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise SynthesisUnavailable(
                f"pyttsx3 is not installed ({exc}); run scripts/setup"
            ) from None
        try:
            with _quiet_stdout():
                self._engine = pyttsx3.init()
            self._voices = {v.id for v in self._engine.getProperty("voices")}
        except Exception as exc:
            raise SynthesisUnavailable(
                f"the speech engine did not start ({exc}); "
                "install espeak-ng: apt-get install espeak-ng libespeak-ng1"
            ) from None
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str, float], Pcm] = {}
        self._tmp = Path(tempfile.mkdtemp(prefix="voiceguide-tts-"))
        self.voice = voice if voice and voice.split("+", 1)[0] in self._voices else None
        self.render_seconds: list[float] = []
        # Render once now, so a broken espeak-ng is reported at start-up, not mid-session.
        probe = self.render("ready")
        if len(probe.samples) == 0:
            raise SynthesisUnavailable(
                "the speech engine produced no audio; check espeak-ng: espeak-ng 'test'"
            )

    def knows(self, voice: str | None) -> bool:
        """A listed voice id, or one with an espeak-ng variant such as ``gmw/en-us+f3``."""
        return voice is not None and voice.split("+", 1)[0] in self._voices

    @property
    def voices(self) -> set[str]:
        return set(self._voices)

    def render(self, text: str, voice: str | None = None, rate: float = 1.0) -> Pcm:
        """PCM for ``text``; cached, so the same words come back at once."""
        voice = voice if self.knows(voice) else self.voice
        rate = round(max(MIN_RATE, min(MAX_RATE, rate)), 3)
        key = (text, voice or "", rate)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        with self._lock:
            started = time.perf_counter()
            path = self._tmp / "render.wav"
            if voice:
                self._engine.setProperty("voice", voice)
            self._engine.setProperty("rate", int(BASE_WPM * rate))
            with _quiet_stdout():
                self._engine.save_to_file(text, str(path))
                self._engine.runAndWait()
            try:
                data, sr = soundfile.read(path, dtype="int16", always_2d=True)
            except (RuntimeError, soundfile.LibsndfileError) as exc:
                raise SynthesisUnavailable(f"the speech engine wrote no audio ({exc})") from None
            pcm = Pcm(np.ascontiguousarray(data[:, 0]), int(sr))
            self.render_seconds.append(time.perf_counter() - started)
        self._cache[key] = pcm
        return pcm

    def prerender(self, texts: Iterable[str], voice: str | None = None, rate: float = 1.0) -> int:
        """Warm the cache; returns how many texts were rendered."""
        n = 0
        for text in texts:
            self.render(text, voice, rate)
            n += 1
        return n
