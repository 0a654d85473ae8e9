"""Stand-ins at the speech engines' library boundary, and the recognizer as `run` builds it.

The adapters' own rules run for real; only what the engine library would return is
scripted, so a rule can be driven with exactly the lattice it exists for.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tests.helpers import content
from voiceguide.speech.pocketsphinx_engine import PocketSphinxRecognizer
from voiceguide.speech.recognizer import Recognition


def buzz(seconds: float = 0.3) -> np.ndarray:
    """A voiced, vowel-like sound: passes the silence gate, so the decoder's turn comes."""
    t = np.arange(int(16_000 * seconds)) / 16_000
    x = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 20))
    return (x / np.abs(x).max() * 8000).astype(np.int16)


@dataclass
class _Hyp:
    hypstr: str
    prob: int = -1000


class ScriptedDecoder:
    """Stands in for ``pocketsphinx.Decoder``: returns a chosen best path and n-best list
    (``None`` entries too, as pocketsphinx yields on thin lattices)."""

    def __init__(self, best: str | None, nbest: list[str | None]) -> None:
        self.best, self.list = best, nbest

    def activate_search(self, name: str) -> None: ...
    def add_jsgf_string(self, name: str, jsgf: str) -> None: ...
    def remove_search(self, name: str) -> None: ...
    def current_search(self) -> str:
        return ""

    def set_cmn(self, cmn: str) -> None: ...
    def start_stream(self) -> None: ...
    def start_utt(self) -> None: ...
    def process_raw(self, data: bytes, full_utt: bool = False) -> None: ...
    def end_utt(self) -> None: ...

    def hyp(self) -> _Hyp | None:
        return None if self.best is None else _Hyp(self.best)

    def nbest(self) -> list[_Hyp | None]:
        return [None if h is None else _Hyp(h) for h in self.list]


@dataclass
class Seg:
    word: str
    start_frame: int
    end_frame: int


class ScriptedFinder(ScriptedDecoder):
    """Stands in for the first-pass decoder over the guide's voice: its words, with frames."""

    def __init__(self, segs: list[Seg] | None) -> None:
        text = None if segs is None else " ".join(s.word for s in segs)
        super().__init__(text, [])
        self.segs = segs or []
        self.heard_samples = 0

    def process_raw(self, data: bytes, full_utt: bool = False) -> None:
        self.heard_samples = len(data) // 2

    def seg(self) -> list[Seg]:
        return self.segs


def runtime_sphinx() -> PocketSphinxRecognizer:
    """Built as `voiceguide run` builds it: the guide's words and count words known."""
    c = content()
    words, counts = frozenset(c.spoken_words()), frozenset(c.prompts.count_words)
    return PocketSphinxRecognizer(c.grammars, echo_words=words, count_words=counts)


def decode_scripted(
    r: PocketSphinxRecognizer,
    best: str | None,
    nbest: list[str | None],
    grammar: str = "yes_no",
    audio: np.ndarray | None = None,
) -> Recognition:
    """``r.recognize`` on voiced audio, with the decoder's lattice scripted."""
    real = r._decoder
    r._decoder = ScriptedDecoder(best, nbest)
    try:
        return r.recognize(buzz() if audio is None else audio, grammar)
    finally:
        r._decoder = real
