"""The noise veto through the real engines: generated clatter (the benches' own
non-speech generator, seeded) that PocketSphinx alone takes for a command is rejected
by the fused recognizer as "noise".

The seeds were found by searching the generator for clatter PocketSphinx accepts as a
command where the answer model is sure it is silence (at or over head.json's
``silence``), again for each new head (session 10: seeds 0-1299, where PocketSphinx took
109 clatters for a command; this head vetoes 2 of them, session 9's vetoed 6). Such clatter is rare:
on dev's 99 generated non-speech clips, the three PocketSphinx took for "what" were
"other" to the model, not silence (BENCHMARKS.md, "Session 6").
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import fused_recognizer
from voiceguide.bench import nonspeech
from voiceguide.dialogue.intents import Intent


def clatter(seed: int, level_db: float, seconds: float) -> np.ndarray:
    """The benches' clatter (``bench/nonspeech.py``), scaled as it scales it."""
    x = nonspeech.clatter(int(seconds * 16_000), np.random.default_rng(seed))
    x = x / np.abs(x).max() * 32767 * 10 ** (level_db / 20)
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


@pytest.mark.parametrize(
    ("seed", "level_db", "seconds", "grammar", "heard"),
    [
        (757, -25.0, 0.3, "coaching", Intent.END),
        (545, -25.0, 0.3, "emergency", Intent.END),
    ],
)
def test_clatter_pocketsphinx_takes_for_a_command_is_rejected_as_noise(
    seed: int, level_db: float, seconds: float, grammar: str, heard: Intent
) -> None:
    recognizer = fused_recognizer()
    noise = clatter(seed, level_db, seconds)
    alone = recognizer.engine.recognize(noise, grammar)
    assert (alone.accepted, alone.intent) == (True, heard), "the engine alone takes it"
    got = recognizer.recognize(noise, grammar)
    assert (got.accepted, got.intent, got.reason) == (False, None, "noise"), got
    assert got.score >= recognizer.thresholds.silence
