"""Speech heard over the guide's own voice: its echo is not a barge-in; a real one is.

The recognizer is built as `voiceguide run` builds it (the guide's words and count words
known), the guide's lines are synthesized in the guide's voice and passed through a
"loop" room (the speaker copied into the microphone, as in the PulseAudio test room),
and the result is judged by the runtime's own rule (``is_barge_in``).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from functools import cache

import numpy as np
import pytest

from tests.speechgen import speak
from voiceguide.content import Content, load_content
from voiceguide.dialogue.intents import Intent
from voiceguide.runtime.voice import is_barge_in, over_speech_grammar
from voiceguide.speech.jsgf import build_jsgf
from voiceguide.speech.recognizer import Recognizer
from voiceguide.speech.select import make_recognizer

pytestmark = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (scripts/setup)"
)
GUIDE_VOICE = "en-us"
USER_VOICE = "en-us+f2"


@cache
def content() -> Content:
    return load_content("en")


@cache
def recognizer() -> Recognizer:
    c = content()
    return make_recognizer(
        "pocketsphinx",
        c.grammars,
        frozenset(c.spoken_words()),
        frozenset(c.prompts.count_words),
    )


def words(text: str) -> frozenset[str]:
    return frozenset(re.findall(r"[a-z']+", text.lower()))


def loop_room(audio: np.ndarray) -> np.ndarray:
    delayed = np.concatenate([np.zeros(320), 0.8 * audio.astype(np.float64)])
    return np.clip(delayed, -32768, 32767).astype(np.int16)


def coaching_lines() -> list[str]:
    lines = []
    for ex in content().routine.exercises:
        lines += [*ex.setup, ex.release, *(p.cue for p in ex.phases)]
    return lines


def test_jsgf_lets_the_guides_words_surround_or_fill_an_utterance() -> None:
    text = build_jsgf("b", ["stop"], (), ["lower", "your", "hips"])
    assert "<around> = hips | lower | your;" in text
    assert "<around>+ <answer> <around>*" in text
    top = text.split("public <utterance> = ")[1].split(";")[0]
    assert top.endswith("| <around>+"), top  # the guide's words alone: its echo


def test_the_guides_own_cues_are_never_taken_for_a_barge_in() -> None:
    grammar = over_speech_grammar(content(), "coaching", counting=False)
    assert grammar is not None
    taken = []
    for line in coaching_lines():
        echo = loop_room(speak(line, GUIDE_VOICE))
        result = recognizer().recognize(echo, grammar, words(line))
        if is_barge_in(result, set(words(line))):
            taken.append((line, result.text))
    assert not taken, taken


@pytest.mark.parametrize(
    ("said", "intent"),
    [("stop now", Intent.STOP), ("it hurts", Intent.PAIN), ("help me", Intent.EMERGENCY)],
)
def test_a_barge_in_inside_the_guides_speech_is_found(said: str, intent: Intent) -> None:
    """The user cuts in as a cue ends: one utterance holds the guide's echo and the user."""
    grammar = over_speech_grammar(content(), "coaching", counting=False)
    assert grammar is not None
    heard = []
    for line in coaching_lines()[:6]:
        echo = loop_room(speak(line, GUIDE_VOICE))
        mixed = np.concatenate([echo[:-2000], speak(said, USER_VOICE)])
        result = recognizer().recognize(mixed, grammar, words(line))
        heard.append(result.intent if is_barge_in(result, set(words(line))) else None)
    # Most cut-ins are heard, and nothing is ever heard as another command.
    assert heard.count(intent) >= 4, heard
    assert set(heard) <= {intent, None}, heard


def test_bench_echo_reports_false_barge_ins_and_recall() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "voiceguide.cli", "bench", "echo", "--limit", "3",
         "--room", "loop", "--json"],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    report = json.loads(out.stdout)
    assert str(report["engine"]).startswith("pocketsphinx")  # alone, or + answer model
    assert report["loop_lines"] == 3
    assert 0.0 <= report["loop_false_barge_in"] <= 1.0
    assert 0.0 <= report["loop_barge_in_recall"] <= 1.0
    assert "3/3 lines" in out.stderr  # progress is shown
