"""Injectable monotonic clocks: the real one for the runtime, a fake one for tests."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on a monotonic scale."""
        ...


class MonotonicClock:
    def now(self) -> float:
        return time.monotonic()


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: float = 0.0) -> None:
        self._t = start

    def now(self) -> float:
        return self._t

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a monotonic clock cannot go back")
        self._t += seconds

    def set(self, t: float) -> None:
        if t < self._t:
            raise ValueError("a monotonic clock cannot go back")
        self._t = t


class ScaledClock:
    """Real time sped up ``scale`` times: for scripted runs and demos of the coach."""

    def __init__(self, scale: float) -> None:
        if scale <= 0:
            raise ValueError("time scale must be positive")
        self.scale = scale
        self._t0 = time.monotonic()

    def now(self) -> float:
        return self._t0 + (time.monotonic() - self._t0) * self.scale


class LeadClock:
    """Another clock, ``lead`` seconds ahead: the time at which sound handed over now is
    heard. Driving the dialogue with it lets a count be handed to the speaker early and
    placed sample-exactly at its scheduled instant."""

    def __init__(self, inner: Clock, lead: float) -> None:
        if lead < 0:
            raise ValueError("lead must not be negative")
        self.inner = inner
        self.lead = lead

    def now(self) -> float:
        return self.inner.now() + self.lead
