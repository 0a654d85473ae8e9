"""The one interface every speech recognizer adapter implements.

Audio in is always 16 kHz mono int16 (``audio/`` converts everything else). A result is
never forced onto the grammar: anything in doubt comes back with ``accepted=False`` and a
``reason``, which the dialogue treats as "unclear" and re-asks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from voiceguide.dialogue.intents import Intent

SAMPLE_RATE = 16_000
Samples = npt.NDArray[np.int16]


@dataclass(frozen=True, slots=True)
class Recognition:
    #: The best whole grammar phrase, or the raw text when rejected ("" for none).
    text: str
    #: The phrase's intent when accepted; None when rejected.
    intent: Intent | None
    #: Calibrated evidence in [0, 1] that ``text`` is what was said.
    score: float
    accepted: bool
    #: Why it was rejected ("" when accepted): "silence", "out_of_grammar", "low_score", ...
    reason: str = ""
    alternatives: tuple[str, ...] = field(default=())
    engine: str = ""
    #: Seconds of audio decoded and seconds the decode took (for the real-time factor).
    audio_seconds: float = 0.0
    decode_seconds: float = 0.0


class Recognizer(Protocol):
    """A grammar-constrained recognizer with rejection."""

    @property
    def name(self) -> str: ...

    @property
    def language(self) -> str: ...

    def recognize(
        self, samples: Samples, grammar: str, speaking: frozenset[str] = frozenset()
    ) -> Recognition:
        """Decode one utterance (16 kHz mono int16) against a named grammar.

        ``speaking``: the words the guide was saying meanwhile. An engine may let them
        come around the answer (the guide's echo), and never returns them as one.
        """
        ...


@dataclass(slots=True)
class Decoding:
    """One ``recognize`` call in progress: builds its result with the timing filled in."""

    engine: str
    samples: int
    started: float = field(default_factory=time.perf_counter)

    def result(
        self,
        text: str,
        intent: Intent | None,
        score: float,
        reason: str = "",
        alternatives: tuple[str, ...] = (),
    ) -> Recognition:
        """Accepted when ``reason`` is empty; otherwise rejected for that reason."""
        return Recognition(
            text=text,
            intent=intent if not reason else None,
            score=score,
            accepted=not reason,
            reason=reason,
            alternatives=alternatives,
            engine=self.engine,
            audio_seconds=self.samples / SAMPLE_RATE,
            decode_seconds=time.perf_counter() - self.started,
        )
