"""The same audio gives the same result, whatever was decoded before it.

PocketSphinx's front end kept a running noise estimate across utterances, so a real "no"
was heard as "though" after a "house" clip: a session's answers, and every benchmark,
depended on the order of what was heard. Here clips in several voices and room-noise
levels are decoded in shuffled orders, across grammars, and every result must match the
result of a recognizer that never heard anything else.
"""

from __future__ import annotations

import os
import random
import shutil
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from tests.speechgen import speak
from voiceguide.audio.files import load_audio
from voiceguide.content import load_grammars
from voiceguide.runtime.utterance import place_in_room
from voiceguide.speech.pocketsphinx_engine import PocketSphinxRecognizer
from voiceguide.speech.recognizer import Recognition, Samples

#: ../shared next to the clone (CI), or $VOICEGUIDE_SHARED (a worktree elsewhere).
SHARED = Path(os.environ.get("VOICEGUIDE_SHARED") or Path(__file__).resolve().parents[2] / "shared")
POOL = SHARED / "data" / "speech_commands_pool" / "dev"

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (scripts/setup)"
)


@cache
def grammars():  # type: ignore[no-untyped-def]
    return load_grammars("en")


def outcome(r: Recognition) -> tuple[object, ...]:
    return (r.text, r.intent, r.accepted, r.reason, round(r.score, 6), r.alternatives)


Clip = tuple[str, Samples, str, frozenset[str]]
#: What the guide says while a barge-in clip is heard (its over-speech decoding).
GUIDE = frozenset(["lie", "on", "your", "back", "and", "slowly", "lift", "your", "hips"])


def synthetic_clips() -> list[Clip]:
    """(name, audio, grammar): words near "no" and others, in rooms from quiet to loud."""
    rng = np.random.default_rng(7)
    clips = []
    for i, (word, voice) in enumerate(
        [("no", "en-us+f2"), ("house", "en-us"), ("go", "en-gb-x-rp"), ("no", "en-029"),
         ("yes", "en-us+m3"), ("though", "en-us+f4"), ("pause", "en-us"), ("no", "en-us"),
         ("it hurts", "en-us+f2"), ("stop now", "en-us")]
    ):  # fmt: skip
        rms = [20.0, 300.0, 1500.0][i % 3]
        stream, _ = place_in_room(speak(word, voice), rng, 0.3, 0.3)
        loud = (stream.astype(np.float64) + rng.normal(0, rms, len(stream))).clip(-32768, 32767)
        grammar, speaking = "yes_no", frozenset[str]()
        if word == "pause":
            grammar = "coaching"
        elif " " in word:  # said over the guide: the two-pass over-speech decoding
            grammar, speaking = "barge_in", GUIDE
        clips.append((f"{word}/{voice}/{rms}", loud.astype(np.int16), grammar, speaking))
    return clips


def decode_in_orders(clips: list[Clip], orders: int, fresh_checks: int = 4) -> None:
    """Decode ``clips`` in ``orders`` shuffled orders on one recognizer: every clip's result
    must be the same each time, and the same as on a recognizer that never heard anything
    else (checked for the first ``fresh_checks`` clips: loading one takes seconds)."""
    shared = PocketSphinxRecognizer(grammars())
    first: dict[str, tuple[object, ...]] = {}
    for seed in range(orders):
        order = clips[:]
        random.Random(seed).shuffle(order)
        for name, audio, grammar, speaking in order:
            got = outcome(shared.recognize(audio, grammar, speaking))
            assert first.setdefault(name, got) == got, (seed, name, got, first[name])
    for name, audio, grammar, speaking in clips[:fresh_checks]:
        alone = PocketSphinxRecognizer(grammars())
        assert outcome(alone.recognize(audio, grammar, speaking)) == first[name], name
    # One result at least is accepted, so the comparison is not between empty results.
    assert any(o[2] for o in first.values()), first


@needs_espeak
def test_synthetic_clips_decode_the_same_in_any_order() -> None:
    decode_in_orders(synthetic_clips(), orders=3)


@pytest.mark.skipif(not POOL.is_dir(), reason="../shared/data/speech_commands_pool is not here "
                    "(only CI and the team's machines have ../shared)")  # fmt: skip
def test_real_clips_decode_the_same_in_any_order() -> None:
    clips = []
    for word in ("no", "house", "yes", "down", "up", "go"):
        for path in sorted((POOL / word).glob("*.flac"))[:3]:
            clips.append((f"{word}/{path.name}", load_audio(path), "yes_no", frozenset()))
    decode_in_orders(clips, orders=2)
