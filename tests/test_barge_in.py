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
from voiceguide.bench.echo import ROOM_NOISE_DB, BargeIn, planted_heard
from voiceguide.bench.echo import _room as echo_room
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
        said = [*ex.setup, ex.release, *(p.cue for p in ex.phases)]
        # As spoken: an exercise done on each side names it (here the left one).
        lines += [t.format(side="left", other="right") if ex.sides else t for t in said]
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


#: How urgent each barge-in is: hearing a cut-in as a more urgent one is safe (the guide
#: stops either way), as a less urgent one is not ("help me" taken for "stop").
URGENCY = {Intent.PAUSE: 0, Intent.STOP: 1, Intent.PAIN: 2, Intent.EMERGENCY: 3}


def trimmed(audio: np.ndarray) -> np.ndarray:
    """The clip without its leading and trailing quiet."""
    loud = np.flatnonzero(np.abs(audio.astype(np.int32)) > 0.02 * np.abs(audio).max())
    return audio[loud[0] : loud[-1] + 1]


def cut_in(echo: np.ndarray, user: np.ndarray, overlap_s: float, sir_db: float) -> np.ndarray:
    """``user`` spoken over ``echo``, starting ``overlap_s`` before the guide's voice ends,
    ``sir_db`` louder than the guide's echo: double talk, with no pause between them."""
    loud = np.flatnonzero(np.abs(echo.astype(np.int32)) > 0.02 * np.abs(echo).max())
    start = loud[-1] - int(overlap_s * 16_000)
    guide = echo[loud[0] : loud[-1] + 1].astype(np.float64)
    voice = user.astype(np.float64)
    level = np.sqrt(np.mean(guide**2) / np.mean(voice**2)) * 10 ** (sir_db / 20)
    mixed = np.concatenate([echo, np.zeros(max(0, start + len(user) + 4000 - len(echo)))])
    mixed[start : start + len(user)] += voice * level
    return np.clip(mixed, -32768, 32767).astype(np.int16)


@pytest.mark.parametrize(
    ("said", "intent", "at_least"),
    [("stop now", Intent.STOP, 0), ("it hurts", Intent.PAIN, 5), ("help me", Intent.EMERGENCY, 2)],
)
def test_a_barge_in_inside_the_guides_speech_is_found(
    said: str, intent: Intent, at_least: int
) -> None:
    """The user cuts in 250 ms before a cue ends, 6 dB above its echo: one utterance holds
    both voices at once. Measured (12 cues): "stop now" 1, "it hurts" 8, "help me" 4 heard.
    "stop now" inside speech is this weak (bench echo measures it); every cut-in, heard or
    not, must never come out as a less urgent command."""
    grammar = over_speech_grammar(content(), "coaching", counting=False)
    assert grammar is not None
    user = trimmed(speak(said, USER_VOICE))
    heard = []
    for line in coaching_lines()[:12]:
        echo = loop_room(speak(line, GUIDE_VOICE))
        result = recognizer().recognize(cut_in(echo, user, 0.25, 6.0), grammar, words(line))
        heard.append(result.intent if is_barge_in(result, set(words(line))) else None)
    assert heard.count(intent) >= at_least, heard
    assert all(URGENCY[h] >= URGENCY[intent] for h in heard if h is not None), heard


def test_bench_echo_reports_false_barge_ins_and_recall() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "voiceguide.cli", "bench", "echo", "--limit", "3",
         "--room", "loop", "--json"],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    report = json.loads(out.stdout)
    assert str(report["engine"]).startswith("pocketsphinx")  # alone, or + answer model
    assert report["loop_lines"] == report["loop_trials"] == 3
    # Each figure is a count of the three lines or trials, and what it names is listed.
    false_lines = report["loop_false_barge_in"] * 3
    assert abs(false_lines - round(false_lines)) < 0.01
    assert (false_lines > 0) == bool(report["loop_false_heard"])
    heard = report["loop_barge_in_recall"] * 3
    assert abs(heard - round(heard)) < 0.01
    assert sum(report["loop_missed"].values()) == 3 - round(heard)
    # A planted barge-in that was heard is also heard by the looser old count.
    assert report["loop_barge_in_recall"] <= report["loop_barge_in_recall_any"]
    assert "3/3 lines" in out.stderr  # progress is shown


def test_bench_echo_counts_only_the_planted_barge_in() -> None:
    planted = (16_000, 24_000)  # where the user's "stop" was put into the line
    over_it = BargeIn("stop", Intent.STOP, 15_000, 26_000)
    elsewhere = BargeIn("stop", Intent.STOP, 40_000, 48_000)
    assert planted_heard([over_it], [], Intent.STOP, *planted)
    assert not planted_heard([elsewhere], [], Intent.STOP, *planted)  # not where it was said
    assert not planted_heard([over_it], [], Intent.PAUSE, *planted)  # another intent
    # The guide's echo alone already gave "stop" there: not the user's doing.
    echo_stop = BargeIn("stop", Intent.STOP, 20_000, 30_000)
    assert not planted_heard([over_it], [echo_stop], Intent.STOP, *planted)
    echo_pause = BargeIn("pause", Intent.PAUSE, 20_000, 30_000)
    assert planted_heard([over_it], [echo_pause], Intent.STOP, *planted)


def test_bench_echo_reverb_room_has_its_noise_floor() -> None:
    rng = np.random.default_rng(0)
    t = np.arange(16_000) / 16_000
    speech = np.concatenate([np.zeros(16_000), 8000 * np.sin(2 * np.pi * 200 * t)])
    loop = echo_room(speech, "loop", rng)
    assert np.count_nonzero(loop[: 16_000 + 320]) == 0  # the loop room is noiseless
    wet = echo_room(speech, "reverb", rng)
    before = wet[160:16_000]  # the guide has not started: only the room is heard
    speech_rms = float(np.sqrt(np.mean(wet[20_000:30_000] ** 2)))
    floor_db = 20 * np.log10(float(np.sqrt(np.mean(before**2))) / speech_rms)
    assert abs(floor_db + ROOM_NOISE_DB) < 3, floor_db
