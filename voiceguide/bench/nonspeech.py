"""Generated, seeded non-speech for the benches' "silence" set: what a room really sounds
like while nobody answers. Knocks, clicks, clatter, cough-like bursts, breaths, mains hum,
a fan, distant babble, music-like tones, hiss and digital silence, each at several levels.

Stationary hiss alone hardly ever reaches a decoder (the voice activity detector drops
it); these sounds do, which is what makes ``reject_silence`` mean something.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from voiceguide.speech.recognizer import SAMPLE_RATE

Float = npt.NDArray[np.float64]
Int16 = npt.NDArray[np.int16]
#: Clip length (seconds): about a Speech Commands clip and a half.
SECONDS = 1.5
#: Peak levels in dBFS: far away, across the room, close to the microphone.
LEVELS_DB = (-40.0, -25.0, -10.0)


@dataclass(frozen=True, slots=True)
class NonSpeech:
    kind: str
    level_db: float
    samples: Int16

    @property
    def name(self) -> str:
        return f"{self.kind}@{self.level_db:+.0f}dB"


def _band(n: int, rng: np.random.Generator, lo: float, hi: float) -> Float:
    """White noise kept between ``lo`` and ``hi`` Hz (soft edges), unit peak."""
    spec = np.fft.rfft(rng.normal(0, 1, n))
    f = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    width = max(20.0, 0.15 * (hi - lo))
    mask = 1 / (1 + np.exp(-(f - lo) / width)) / (1 + np.exp((f - hi) / width))
    x = np.fft.irfft(spec * mask, n)
    return np.asarray(x / (np.abs(x).max() + 1e-12), dtype=np.float64)


def _damped(n: int, hz: float, decay_s: float) -> Float:
    t = np.arange(n) / SAMPLE_RATE
    return np.asarray(np.sin(2 * np.pi * hz * t) * np.exp(-t / decay_s), dtype=np.float64)


def _place(out: Float, event: Float, at: int) -> None:
    end = min(len(out), at + len(event))
    if at < end:
        out[at:end] += event[: end - at]


def knock(n: int, rng: np.random.Generator) -> Float:
    out = np.zeros(n)
    for _ in range(int(rng.integers(1, 5))):
        m = int(0.25 * SAMPLE_RATE)
        body = sum(_damped(m, rng.uniform(90, 450), rng.uniform(0.02, 0.08)) for _ in range(3))
        hit = _band(m, rng, 500, 4000) * np.exp(-np.arange(m) / (0.004 * SAMPLE_RATE))
        _place(out, body + 0.5 * hit, int(rng.uniform(0, 0.8) * n))
    return out


def click(n: int, rng: np.random.Generator) -> Float:
    out = np.zeros(n)
    for _ in range(int(rng.integers(1, 7))):
        m = int(rng.uniform(0.001, 0.004) * SAMPLE_RATE)
        _place(out, rng.normal(0, 1, m) * np.hanning(m), int(rng.uniform(0, 0.95) * n))
    return out


def clatter(n: int, rng: np.random.Generator) -> Float:
    """Dishes or keys: bright ringing impacts."""
    out = np.zeros(n)
    for _ in range(int(rng.integers(3, 9))):
        m = int(0.3 * SAMPLE_RATE)
        ring = np.zeros(m)
        for _ in range(4):
            ring += _damped(m, rng.uniform(1500, 6000), rng.uniform(0.01, 0.12))
        _place(out, ring, int(rng.uniform(0, 0.85) * n))
    return out


def cough(n: int, rng: np.random.Generator) -> Float:
    """An explosive, voiced-then-noisy burst, once or twice."""
    out = np.zeros(n)
    for _ in range(int(rng.integers(1, 3))):
        m = int(rng.uniform(0.15, 0.35) * SAMPLE_RATE)
        t = np.arange(m) / SAMPLE_RATE
        env = (1 - np.exp(-t / 0.008)) * np.exp(-t / rng.uniform(0.05, 0.12))
        f0 = rng.uniform(120, 250)
        voiced = np.sign(np.sin(2 * np.pi * f0 * t)) * np.exp(-t / 0.04)
        noisy = _band(m, rng, rng.uniform(300, 600), rng.uniform(2500, 4500))
        _place(out, env * (0.6 * noisy + 0.4 * voiced), int(rng.uniform(0, 0.6) * n))
    return out


def breath(n: int, rng: np.random.Generator) -> Float:
    out = np.zeros(n)
    for _ in range(int(rng.integers(1, 3))):
        m = int(rng.uniform(0.4, 0.9) * SAMPLE_RATE)
        env = np.sin(np.linspace(0, np.pi, m)) ** 2
        _place(out, env * _band(m, rng, 400, rng.uniform(1800, 3000)), int(rng.uniform(0, 0.4) * n))
    return out


def hum(n: int, rng: np.random.Generator) -> Float:
    t = np.arange(n) / SAMPLE_RATE
    f = float(rng.choice([50.0, 60.0]))
    x = sum(np.sin(2 * np.pi * f * k * t + rng.uniform(0, 6)) / k for k in (1, 2, 3, 5))
    return np.asarray(x + 0.05 * rng.normal(0, 1, n), dtype=np.float64)


def fan(n: int, rng: np.random.Generator) -> Float:
    t = np.arange(n) / SAMPLE_RATE
    blade = np.sin(2 * np.pi * rng.uniform(80, 220) * t) * (1 + 0.3 * np.sin(2 * np.pi * 3 * t))
    return 0.8 * _band(n, rng, 20, 1200) + 0.2 * blade


def music(n: int, rng: np.random.Generator) -> Float:
    """Notes of a simple tune with harmonics, changing every few hundred milliseconds."""
    out = np.zeros(n)
    at = 0
    while at < n:
        m = int(rng.uniform(0.15, 0.45) * SAMPLE_RATE)
        t = np.arange(m) / SAMPLE_RATE
        note = np.zeros(m)
        for semitone in rng.choice(24, size=int(rng.integers(1, 4)), replace=False):
            f = 220 * 2 ** (semitone / 12)
            note += sum(np.sin(2 * np.pi * f * k * t) / k**1.5 for k in (1, 2, 3, 4))
        _place(out, note * np.exp(-t / 0.25) * (1 - np.exp(-t / 0.005)), at)
        at += m
    return out


def hiss(n: int, rng: np.random.Generator) -> Float:
    return rng.normal(0, 1, n)


def silence(n: int, rng: np.random.Generator) -> Float:
    return np.zeros(n)


Maker = Callable[[int, np.random.Generator], Float]
KINDS: dict[str, Maker] = {
    "knock": knock,
    "click": click,
    "clatter": clatter,
    "cough": cough,
    "breath": breath,
    "hum": hum,
    "fan": fan,
    "music": music,
    "hiss": hiss,
    "silence": silence,
}


def generate(n: int, seed: int, babble: Int16 | None = None) -> list[NonSpeech]:
    """``n`` clips, cycling through every kind (and distant ``babble`` if given, cut
    from that recording) and every level."""
    rng = np.random.default_rng(seed)
    length = int(SECONDS * SAMPLE_RATE)
    kinds = list(KINDS) + (["babble"] if babble is not None and len(babble) >= length else [])
    clips = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        level = LEVELS_DB[(i // len(kinds)) % len(LEVELS_DB)]
        if kind == "babble":
            assert babble is not None
            start = int(rng.integers(0, len(babble) - length + 1))
            raw = babble[start : start + length].astype(np.float64)
            x = np.fft.irfft(np.fft.rfft(raw) * (np.fft.rfftfreq(length, 1 / SAMPLE_RATE) < 2500))
        else:
            x = KINDS[kind](length, rng)
        peak = float(np.abs(x).max())
        if peak > 0:
            x = x / peak * 32767 * 10 ** (level / 20)
        clips.append(NonSpeech(kind, level, np.clip(np.round(x), -32768, 32767).astype(np.int16)))
    return clips
