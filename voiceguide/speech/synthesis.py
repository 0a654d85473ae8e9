"""Speech output: the one adapter over pyttsx3 (espeak-ng on Linux).

Every sentence is rendered to PCM with ``save_to_file`` and played by ``audio/devices``,
never with pyttsx3's own ``say()`` (which shells out to ``aplay`` and returns before the
sound ends). Owning the PCM means the runtime knows exactly when speech starts and ends,
can cut it mid-word, and tests can capture it. Renders are cached by text, voice and rate,
so a repeated prompt or count word starts in microseconds.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import soundfile

#: pyttsx3's espeak driver speaks at about this many words per minute at rate 1.0.
BASE_WPM = 175
#: Bytes of rendered speech kept for reuse (about 6 minutes at 22 kHz). Every prompt at
#: every speech rate a session reaches would otherwise stay in memory: about 20 MB per
#: rate step (the memory growth of issue 8); least recently used renders go first.
CACHE_BYTES = 16_000_000
MIN_RATE, MAX_RATE = 0.5, 1.6
#: pyttsx3 2.99's espeak driver now and then writes a WAV with no samples in it (about one
#: render in 60 on a loaded machine; measured with two busy threads), or none that can be
#: read. It is all or nothing, never a cut-off sentence, so such a render is tried again.
RENDER_TRIES = 4
#: The sample rate pyttsx3's espeak driver writes at.
ESPEAK_RATE = 22_050
#: A setting is taken in microseconds; this only bounds a wedged engine.
SETTLE_TIMEOUT_S = 2.0
#: The rest of a render the driver is still writing takes milliseconds; this only bounds
#: a wedged engine. Generous on purpose: a file read while it is written can hold part of
#: the sentence, which a listener would hear cut off.
WRITE_TIMEOUT_S = 10.0
#: pyttsx3 gives every Synthesizer of a process the same engine (and libespeak-ng has one
#: voice and rate at a time): renders of the guide and of a simulated user take turns.
_ENGINE_LOCK = threading.Lock()


class SynthesisUnavailable(RuntimeError):
    """pyttsx3 or espeak-ng is missing or broken; the message says how to fix it."""


#: Probe results per ESPEAK_DATA_PATH: one child process per program run.
_PROBED: dict[str, str | None] = {}
_PENDING: dict[str, subprocess.Popen[str]] = {}
PROBE_TIMEOUT_S = 60.0
#: The child's whole job: the engine renders one word to a file with some sound in it.
#: Lean on purpose (no numpy, no voiceguide imports): it runs before the first word.
_PROBE_CODE = """
import os, sys, tempfile, pyttsx3
folder = tempfile.mkdtemp(prefix="voiceguide-tts-")
path = os.path.join(folder, "probe.wav")
try:
    engine = pyttsx3.init()
    size = 0
    for _ in range(RENDER_TRIES):  # the driver's race: see RENDER_TRIES
        engine.save_to_file("ready", path)
        engine.runAndWait()
        size = os.path.getsize(path) if os.path.exists(path) else 0
        if size > 44:
            break
finally:
    for name in os.listdir(folder):
        os.unlink(os.path.join(folder, name))
    os.rmdir(folder)
if size <= 44:
    sys.exit("the speech engine produced no audio")
""".replace("RENDER_TRIES", str(RENDER_TRIES))


def fix_hint() -> str:
    """How to repair speech output here."""
    data = os.environ.get("ESPEAK_DATA_PATH")
    if data:
        return (
            f"ESPEAK_DATA_PATH={data} holds no usable espeak-ng data: unset it, or point it "
            "at the folder that holds espeak-ng-data"
        )
    return "apt-get install --reinstall espeak-ng libespeak-ng1 espeak-ng-data"


def _data_fingerprint() -> str:
    """What the probe's verdict depends on: where espeak-ng looks for its data, and the
    size and time of the data files found there."""
    env = os.environ.get("ESPEAK_DATA_PATH", "")
    places = [Path(env), Path(env) / "espeak-ng-data"] if env else []
    places += sorted(Path("/usr/lib").glob("*/espeak-ng-data"))
    places += [Path("/usr/lib/espeak-ng-data"), Path("/usr/share/espeak-ng-data")]
    parts = [f"ESPEAK_DATA_PATH={env}", sys.executable]
    for place in places:
        for name in ("phontab", "phondata", "phonindex", "intonations", "en_dict"):
            try:
                st = (place / name).stat()
                parts.append(f"{place / name}:{st.st_size}:{st.st_mtime_ns}")
            except OSError:
                parts.append(f"{place / name}:-")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _verdict_file() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("voiceguide")) / "espeak-ng-works"


def _known_good() -> bool:
    """A child already rendered speech with exactly this data: no need to try again (the
    probe costs about 0.8 s before the first word)."""
    try:
        return _verdict_file().read_text() == _data_fingerprint()
    except OSError:
        return False


def _remember_good() -> None:
    # A failure is not stored: other data has another fingerprint, so it is tried anew.
    with contextlib.suppress(OSError):
        path = _verdict_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_data_fingerprint())


def begin_probe() -> None:
    """Start the synthesis probe now, so it runs while the program does other start-up
    work; ``probe_synthesis`` then only waits for what is left of it."""
    key = os.environ.get("ESPEAK_DATA_PATH", "")
    if key in _PROBED or key in _PENDING:
        return
    if _known_good():
        _PROBED[key] = None
        return
    try:
        _PENDING[key] = subprocess.Popen(
            [sys.executable, "-c", _PROBE_CODE],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        )
    except OSError as exc:
        _PROBED[key] = f"could not start a test ({exc})"


def probe_synthesis(timeout: float = PROBE_TIMEOUT_S) -> str | None:
    """None if espeak-ng renders a word in a child process, else why not.

    libespeak-ng calls exit() from inside when its data is unusable (an empty
    ESPEAK_DATA_PATH: "Error processing file .../phontab"), which no Python code can catch.
    So the first synthesis of a run happens in a child, once.
    """
    key = os.environ.get("ESPEAK_DATA_PATH", "")
    if key in _PROBED:
        return _PROBED[key]
    begin_probe()
    proc = _PENDING.pop(key, None)
    if proc is None:
        return _PROBED[key]
    try:
        out, err = proc.communicate(timeout=timeout)
        why = None
        if proc.returncode != 0:
            lines = [x.strip() for x in (err + out).splitlines() if x.strip()]
            why = lines[-1][:200] if lines else f"it exited with code {proc.returncode}"
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        why = f"a test sentence took over {timeout:.0f} s"
    _PROBED[key] = why
    if why is None:
        _remember_good()
    return why


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


def _espeak_binding(engine: Any) -> Any:
    """pyttsx3's own ctypes binding of libespeak-ng, when the engine runs on it."""
    if getattr(engine, "driver_name", None) != "espeak":
        return None
    from pyttsx3.drivers import _espeak

    return _espeak


class Synthesizer:
    def __init__(self, voice: str | None = None, probe: bool = True) -> None:
        if probe:
            why = probe_synthesis()
            if why is not None:
                raise SynthesisUnavailable(f"espeak-ng cannot speak here ({why}); {fix_hint()}")
        try:
            import pyttsx3
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise SynthesisUnavailable(
                f"pyttsx3 is not installed ({exc}); run scripts/setup"
            ) from None
        try:
            # Under the lock: a new engine resets libespeak-ng's voice and callback, which
            # must not happen in the middle of another Synthesizer's render.
            with _ENGINE_LOCK, _quiet_stdout():
                self._engine = pyttsx3.init()
                self._voices = {v.id for v in self._engine.getProperty("voices")}
        except Exception as exc:
            raise SynthesisUnavailable(
                f"the speech engine did not start ({exc}); "
                "install espeak-ng: apt-get install espeak-ng libespeak-ng1"
            ) from None
        self._espeak = _espeak_binding(self._engine)
        self._cache: OrderedDict[tuple[str, str, float], Pcm] = OrderedDict()
        self._cached_bytes = 0
        self._cache_lock = threading.Lock()
        self.voice = voice if voice and voice.split("+", 1)[0] in self._voices else None
        self.render_seconds: list[float] = []
        #: Renders that came back empty and were tried again (see RENDER_TRIES).
        self.empty_renders = 0
        # Render once now, so a broken espeak-ng is reported at start-up, not mid-session.
        first = self.render("ready")
        if len(first.samples) == 0:
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
        with self._cache_lock:  # not the engine's lock: a hit never waits for a render
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        with _ENGINE_LOCK:
            started = time.perf_counter()
            self._settle(voice, int(BASE_WPM * rate))
            pcm = self._render_file(text)
            tries = 1
            while not len(pcm.samples) and any(c.isalnum() for c in text):
                self.empty_renders += 1
                if tries == RENDER_TRIES:
                    raise SynthesisUnavailable(
                        f"the speech engine wrote no audio {RENDER_TRIES} times in a row"
                    )
                pcm = self._render_file(text)
                tries += 1
            self.render_seconds.append(time.perf_counter() - started)
        with self._cache_lock:
            if key not in self._cache:
                self._cache[key] = pcm
                self._cached_bytes += pcm.samples.nbytes
            while self._cached_bytes > CACHE_BYTES and len(self._cache) > 1:
                _, old = self._cache.popitem(last=False)
                self._cached_bytes -= old.samples.nbytes
        return pcm

    def _settle(self, voice: str | None, wpm: int) -> None:
        """Give the voice and the rate to the engine, taken before the next render.

        pyttsx3 2.99 queues a setting behind its own end-of-loop step, which cancels
        espeak-ng's command queue whenever espeak-ng has not finished with it yet: the
        setting was then dropped and the sentence came out at the previous rate or voice
        (a "slower" not heard; one render in three with rates alternating). On espeak-ng
        the settings go straight to the library, and the render waits until it has taken
        them, so there is nothing left in its queue to cancel.
        """
        espeak = self._espeak
        if espeak is None:  # another platform's driver: its own queue, in order
            if voice:
                self._engine.setProperty("voice", voice)
            self._engine.setProperty("rate", wpm)
            return
        if voice:
            espeak.SetVoiceByName(voice.encode())
        espeak.SetParameter(espeak.RATE, wpm, 0)
        give_up = time.monotonic() + SETTLE_TIMEOUT_S
        while espeak.IsPlaying() and time.monotonic() < give_up:
            time.sleep(0.001)

    def _render_file(self, text: str) -> Pcm:
        # pyttsx3 can only render to a file: a private folder that lives for one render,
        # so no copies of the guide's speech are left behind in /tmp.
        folder = Path(tempfile.mkdtemp(prefix="voiceguide-tts-"))
        try:
            path = folder / "render.wav"
            with _quiet_stdout():
                self._engine.save_to_file(text, str(path))
                self._engine.runAndWait()
                self._await_written()
            data, sr = soundfile.read(path, dtype="int16", always_2d=True)
        except soundfile.LibsndfileError:
            # Missing or cut short: the same race as an empty file, and tried again alike.
            return Pcm(np.zeros(0, dtype=np.int16), ESPEAK_RATE)
        except RuntimeError as exc:  # the engine's own failure (LibsndfileError is one too)
            raise SynthesisUnavailable(f"the speech engine wrote no audio ({exc})") from None
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return Pcm(np.ascontiguousarray(data[:, 0]), int(sr))

    def _await_written(self) -> None:
        """Wait until the driver has finished writing the file.

        pyttsx3 2.99's loop can return while libespeak-ng's own thread is still
        synthesizing (measured: one render in 200 with two busy threads); the file was then
        read half-written ("Format not recognised") and the guide failed to start its
        voice. The driver clears its ``_speaking`` flag only after it has closed the file.
        """
        driver = getattr(getattr(self._engine, "proxy", None), "_driver", None)
        give_up = time.monotonic() + WRITE_TIMEOUT_S
        while getattr(driver, "_speaking", False) and time.monotonic() < give_up:
            time.sleep(0.001)

    def prerender(self, texts: Iterable[str], voice: str | None = None, rate: float = 1.0) -> int:
        """Warm the cache; returns how many texts were rendered."""
        n = 0
        for text in texts:
            self.render(text, voice, rate)
            n += 1
        return n
