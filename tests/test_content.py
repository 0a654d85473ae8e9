"""Content files: the real ones load; broken ones fail with file, field and reason."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from voiceguide.content import ContentError, load_content, load_grammars
from voiceguide.content.loader import content_root
from voiceguide.content.models import PromptId

ROOT = content_root()


def test_real_content_loads() -> None:
    c = load_content("en")
    assert len(c.screening.questions) >= 6
    assert {e.id for e in c.routine.exercises} == {
        "glute_bridge",
        "clamshell",
        "figure_four",
        "cat_cow",
    }
    assert set(c.prompts.prompts) == {p.value for p in PromptId}


def test_checks_loopback_line_is_a_yes_in_voices_espeak_ng_has() -> None:
    from voiceguide.content.loader import load_demo
    from voiceguide.speech.synthesis import Synthesizer

    line = load_demo("en").loopback
    assert line.say in load_grammars("en").phrases["yes"]
    synth = Synthesizer()
    assert all(synth.knows(v) for v in line.voices), line.voices


def test_every_grammar_accepts_emergency_words() -> None:
    g = load_grammars("en")
    for name in g.grammars:
        assert "emergency" in g.grammars[name].intents


def test_during_a_question_answers_are_one_word_and_calls_for_help_whole() -> None:
    m = load_grammars("en").acoustic_phrase_map("yes_no")
    by_intent: dict[str, set[str]] = {}
    for phrase, intent in m.items():
        by_intent.setdefault(intent.value, set()).add(phrase)
    assert all(len(p.split()) == 1 for i, ps in by_intent.items() if i != "emergency" for p in ps)
    assert {"call for help", "i can't move", "i need help", "help"} <= by_intent["emergency"]
    assert "call an ambulance" in by_intent["emergency"]  # three words: the limit
    assert len(max(by_intent["emergency"], key=lambda p: len(p.split())).split()) == 3


@pytest.fixture
def copy_root(tmp_path: Path) -> Path:
    for part in ("prompts/en", "grammars/en"):
        shutil.copytree(ROOT / part, tmp_path / part)
    return tmp_path


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"test set-up: {old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize(
    ("file", "old", "new", "expect"),
    [
        (
            "prompts/en/screening.toml",
            'id = "deformity"\n',
            "",
            ["screening.toml", "questions[2].id", "Field required"],
        ),
        (
            "prompts/en/exercises.toml",
            "reps = 8",
            "reps = 0",
            ["exercises.toml", "exercises[0].reps", "greater than or equal to 1"],
        ),
        (
            "grammars/en/phrases.toml",
            "pause = [",
            "snooze = [",
            ["phrases.toml", "unknown command name", "snooze"],
        ),
        (
            "grammars/en/grammars.toml",
            '"skip", "stop"',
            '"skip", "halt", "stop"',
            ["not defined under [phrases]", "halt", "coaching"],
        ),
        (
            "grammars/en/grammars.toml",
            'intents = ["emergency", "pain", "stop", "pause"]',
            'intents = ["pain", "stop", "pause"]',
            ["barge_in", "emergency"],
        ),
        (
            "grammars/en/grammars.toml",
            'over_counts = "barge_in_counts"',
            'over_counts = "yes_no"',
            ["grammars.toml", "over_counts = 'yes_no'", "over_speech_only = true"],
        ),
        (
            "grammars/en/grammars.toml",
            'acoustic_skip = ["nah", "what"]',
            'acoustic_skip = ["nah", "whatt"]',
            ["grammars.toml", "acoustic_skip lists whatt"],
        ),
        (
            "grammars/en/grammars.toml",
            'acoustic_intents = ["yes", "no", "emergency", "repeat",',
            'acoustic_intents = ["yes", "no", "emergency", "skip",',
            ["grammars.toml", "acoustic_intents lists skip"],
        ),
        (
            "prompts/en/prompts.toml",
            "\nwrap_up = [",
            "\nwrapup = [",
            ["prompts.toml", "unknown prompt id(s): wrapup", "missing prompt id(s): wrap_up"],
        ),
        (
            "prompts/en/prompts.toml",
            'exercise_intro = ["Exercise {n} of {total}: the {exercise}."',
            'exercise_intro = ["Exercise {n} of {total}: the {exercize}."',
            ["prompts.toml", "unknown placeholder", "exercize"],
        ),
        # Content that parses but would break the emergency route (issue 8, item 4).
        (
            "prompts/en/prompts.toml",
            "call {number} now. The number",
            "call {number:d} now. The number",
            ["prompts.toml", "emergency_script[0]", "{number}", "format"],
        ),
        (
            "prompts/en/prompts.toml",
            'emergency_script = ["Stay still',
            'emergency_script = [" ", "Stay still',
            ["prompts.toml", "emergency_script[0]", "number"],
        ),
        (
            "prompts/en/prompts.toml",
            'emergency_options = ["Say repeat',
            'emergency_options = [".", "Say repeat',
            ["prompts.toml", "emergency_options[0]", "no letters"],
        ),
        (
            "prompts/en/prompts.toml",
            'goodbye = ["Goodbye, and take care."',
            'goodbye = ["Goodbye {number}."',
            ["prompts.toml", "goodbye[0]", "unknown placeholder {number}", "gets none"],
        ),
        (
            "prompts/en/prompts.toml",
            'rest = ["Rest."',
            'rest = ["Rest {."',
            ["prompts.toml", "rest[0]", "literal brace"],
        ),
        (
            "grammars/en/grammars.toml",
            "[grammars.yes_no]",
            "[grammars.yesno]",
            ["grammars.toml", "missing [grammars.yes_no]"],
        ),
        (
            "grammars/en/grammars.toml",
            'intents = ["yes", "no", "emergency", "pain"',
            'intents = ["yes", "emergency", "pain"',
            ["grammars.toml", "'yes_no' must include no"],
        ),
        (
            "prompts/en/screening.toml",
            'id = "severe_pain"',
            'id = "strong_pain"',
            ["screening.toml", "missing red-flag question(s) severe_pain"],
        ),
        (
            "prompts/en/screening.toml",
            'rephrase = ["Put simply: does that leg look different',
            'rephrase = ["?", "Put simply: does that leg look different',
            ["screening.toml", "questions[2].rephrase[0]", "no letters"],
        ),
        (
            "prompts/en/exercises.toml",
            'name = "glute bridge"',
            'name = "\\u0007"',
            ["exercises.toml", "exercises[0].name", "no letters"],
        ),
        (
            "prompts/en/locale.toml",
            'plus_word = "plus"',
            'plus_word = "\u200bplus"',
            ["locale.toml", "plus_word", "invisible"],
        ),
        ("grammars/en/phrases.toml", '"yeah"', '"yës"', ["phrases.toml", "'yës'", "U+00EB"]),
        ("grammars/en/phrases.toml", '"yeah"', '"yeah 👍"', ["phrases.toml", "U+1F44D"]),
        # A Cyrillic "у" and "е" that look like Latin letters.
        ("grammars/en/phrases.toml", '"yeah"', '"\u0443\u0435s"', ["phrases.toml", "U+0443"]),
        ("grammars/en/phrases.toml", '"yeah"', '"yes\\tsir"', ["phrases.toml", "U+0009"]),
        ("grammars/en/phrases.toml", '"yeah"', '"yes  sir"', ["phrases.toml", "single spaces"]),
        ("grammars/en/garbage.toml", "words = [", 'words = ["ok\u00e9", ', ["garbage word"]),
        (
            "prompts/en/exercises.toml",
            'sides = ["left", "right"]\nswitch_side = "That side is done. Roll',
            'sides = ["left", "middle"]\nswitch_side = "That side is done. Roll',
            ["side 'middle'"],
        ),
        (
            "prompts/en/locale.toml",
            'default_region = "US"',
            'default_region = "ZZ"',
            ["locale.toml", "default_region 'ZZ'"],
        ),
        (
            "grammars/en/grammars.toml",
            "acoustic_max_words_for = { emergency = 3 }",
            "acoustic_max_words_for = { emergency = 3, quiet = 2 }",
            ["grammars.toml", "acoustic_max_words_for lists quiet"],
        ),
        (
            "prompts/en/screening.toml",
            '[[questions]]\nid = "high_impact"',
            '[[questions]\nid = "high_impact"',
            ["screening.toml", "not valid TOML"],
        ),
    ],
)
def test_broken_content_names_file_field_and_reason(
    copy_root: Path, file: str, old: str, new: str, expect: list[str]
) -> None:
    _edit(copy_root / file, old, new)
    with pytest.raises(ContentError) as err:
        load_content("en", copy_root)
    for fragment in expect:
        assert fragment in str(err.value), str(err.value)


def test_missing_language_is_clear(copy_root: Path) -> None:
    with pytest.raises(ContentError, match="no prompts for language 'xx'"):
        load_content("xx", copy_root)


def test_cli_reports_content_errors_without_traceback(copy_root: Path) -> None:
    _edit(copy_root / "prompts/en/exercises.toml", "reps = 8", "reps = 0")
    proc = subprocess.run(
        [sys.executable, "-m", "voiceguide.cli", "run", "--text", "--content", str(copy_root)],
        input="",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "exercises[0].reps" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_prompt_fields_match_what_the_dialogue_fills_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """PROMPT_FIELDS (content/models.py) is the one declaration of each prompt's fields:
    the dialogue and the coach must fill in exactly those, no more, no fewer."""
    import random

    from tests.helpers import Driver
    from voiceguide.content.models import PROMPT_FIELDS, PromptBook
    from voiceguide.dialogue.events import Heard, Silence

    given: dict[PromptId, set[frozenset[str]]] = {}
    real_choose = PromptBook.choose

    def spy(self: PromptBook, pid: PromptId, rng: random.Random, **fields: str) -> str:
        given.setdefault(pid, set()).add(frozenset(fields))
        return real_choose(self, pid, rng, **fields)

    monkeypatch.setattr(PromptBook, "choose", spy)
    coached = Driver(seed=1)
    for _ in coached.dialogue.content.screening.questions:
        coached.send(Heard("no"))
    coached.run_until(2000)
    emergency = Driver(seed=1, region="GB")  # a region with an alternative number
    emergency.send(Heard("yes"))
    emergency.send(Silence())  # a reminder
    for pid, seen in given.items():
        assert seen == {PROMPT_FIELDS[pid]}, (pid, seen)
    # The dialogue gives every prompt it says the number; the other fields are each
    # given to a few prompts, and each of those must really be said with them.
    with_fields = {pid for pid, names in PROMPT_FIELDS.items() if names - {"number"}}
    assert with_fields <= set(given), with_fields - set(given)


@pytest.mark.parametrize("region", sorted(load_content("en").locale.emergency_numbers))
def test_yes_gives_the_advice_with_the_number_in_every_region(region: str) -> None:
    from tests.helpers import Driver
    from voiceguide.dialogue.events import Heard, Speak

    d = Driver(seed=0, region=region)
    out = d.send(Heard("yes"))
    script = [e for e in out if isinstance(e, Speak) and e.prompt == "emergency_script"]
    locale = d.dialogue.content.locale
    number = locale.say_number(locale.emergency_numbers[region])
    assert script and number in script[0].text


def test_the_guides_inflected_words_stand_for_their_bare_forms_too() -> None:
    from voiceguide.content.models import words_said

    assert {"paused", "pause", "say", "resume"} <= words_said("Paused. Say resume.")
    assert {"stopped", "stop", "counting", "count"} <= words_said("I stopped counting.")
    assert {"stopping", "stop", "pausing", "pause"} <= words_said("stopping, pausing")
    # Short words and plain ones are left alone: "red" is no form of "re".
    assert words_said("Bed red, help me.") == {"bed", "red", "help", "me"}
