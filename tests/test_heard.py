"""What the listener hears, checked through the real speech paths (issue 9).

- Every sentence that holds a phone number, for every region and for numbers of one's
  own, is turned into phonemes by espeak-ng (the engine the guide speaks with): the
  number must come out as its digits, one by one, with no symbol, "hundred" or
  "thousand" read aloud. No other sentence may read a symbol aloud either.
- The emergency message, rendered by the guide's own synthesizer, says the number
  within its first five seconds, twice.
- The guide reaches the first exercise movement within 45 s of launch when every
  answer comes at once, measured with the synthesizer's real lengths.
- Commands spoken during a question are heard by the real recognizer in the question's
  grammar, applied, and the question asked again without an unclear answer.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from functools import cache

import pytest

from tests.helpers import Driver, SilentSink, content
from voiceguide.config import Settings
from voiceguide.content.models import PromptId
from voiceguide.dialogue.controller import Dialogue, Phase
from voiceguide.dialogue.events import (
    AnswerGiven,
    Heard,
    NoMatch,
    OutputEvent,
    Route,
    RouteTo,
    Silence,
    Speak,
    Tick,
    WakeAt,
)

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (scripts/setup)"
)
VOICE = content().locale.tts_voice.split("+")[0]
REGIONS = sorted(content().locale.emergency_numbers)
OWN_NUMBERS = ["5551234", "+441234567890", "12", "123456789012345"]


def _phonemes(text: str) -> list[str]:
    """espeak-ng's phoneme words for ``text``, stress and pause marks dropped."""
    out = subprocess.run(
        ["espeak-ng", "-q", "-x", "-v", VOICE, text],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    return re.sub(r"_[!:]?", " ", re.sub(r"[',=]", "", out)).split()


@cache
def phonemes(text: str) -> tuple[str, ...]:
    return tuple(_phonemes(text))


@cache
def word_phonemes(word: str) -> tuple[str, ...]:
    return phonemes(word)


SYMBOL_WORDS = ["dash", "hyphen", "hundred", "thousand", "million", "slash", "percent",
                "point", "hash", "star"]  # fmt: skip


def _contains(seq: tuple[str, ...], part: tuple[str, ...]) -> bool:
    n = len(part)
    return any(seq[i : i + n] == part for i in range(len(seq) - n + 1))


def digits_as_heard(number: str) -> tuple[str, ...]:
    """The phonemes of the number's digits said one by one (and "plus" for a "+")."""
    words = [content().locale.digit_words[int(c)] for c in number if c.isdigit()]
    if number.startswith("+"):
        words.insert(0, content().locale.plus_word)
    return tuple(p for w in words for p in word_phonemes(w))


def number_sentences(**settings: object) -> Iterator[Speak]:
    """Every sentence the dialogue can say that holds a number, for one set-up."""
    routes: list[list[OutputEvent]] = []
    d = Driver(**settings)
    routes.append(d.send(Heard("yes")))  # the message after a "yes"
    routes.append(d.send(Heard("repeat")))  # the short form
    routes.append(d.run_until(d.now + 3600))  # the reminders and the last one
    u = Driver(**settings)
    u.send(Silence())
    routes.append(u.send(NoMatch()))  # after unclear answers
    p = Driver(**settings)
    for _ in range(len(content().screening.questions)):
        p.send(Heard("no"))
    p.run_until(p.now + 60)
    p.send(Heard("ready"))
    p.run_until(p.now + 10)
    p.send(Heard("it hurts"))
    routes.append(p.send(Heard("yes")))  # pain: the end, with the number
    for out in routes:
        yield from (
            e for e in out if isinstance(e, Speak) and e.prompt.startswith(("emerg", "pain"))
        )


def _setups() -> list[dict[str, object]]:
    return [{"region": r} for r in REGIONS] + [{"emergency_number": n} for n in OWN_NUMBERS]


@needs_espeak
@pytest.mark.parametrize("setup", _setups(), ids=lambda s: str(next(iter(s.values()))))
def test_every_number_is_heard_digit_by_digit(setup: dict[str, object]) -> None:
    d = Driver(**setup)
    number = d.dialogue.emergency_number
    heard_number = digits_as_heard(number)
    forbidden = {p for w in SYMBOL_WORDS for p in word_phonemes(w)}
    checked = 0
    for speak in number_sentences(**setup):
        assert not re.search(r"[0-9+#*/%-]", speak.text), speak.text
        heard = phonemes(speak.text)
        assert not forbidden & set(heard), (speak.text, heard)
        if d.dialogue.spoken_number in speak.text:
            assert _contains(heard, heard_number), (speak.text, heard, heard_number)
            checked += 1
    # The message, the short form, reminders, the last reminder and the pain ending.
    assert checked >= 5


@needs_espeak
def test_no_sentence_reads_a_symbol_aloud() -> None:
    c = content()
    fields = {
        "number": c.locale.say_number("911"),
        "other": c.locale.say_number("+4412"),
        "exercise": c.routine.exercises[0].name,
        "side": "left",
        "n": "two",
        "total": "eight",
    }
    texts = [t.format(**fields) for ts in c.prompts.prompts.values() for t in ts]
    texts += [t for q in c.screening.questions for t in (*q.ask, *q.rephrase)]
    sided = {"side": "left", "other": "right"}
    texts += [t.format(**sided) for ex in c.routine.exercises for t in ex.texts() if t]
    forbidden = {p for w in SYMBOL_WORDS for p in word_phonemes(w)}
    for text in texts:
        assert not re.search(r"[0-9+#*/%]", text), text
        assert not forbidden & set(phonemes(text)), text


# ---------------------------------------------------------------- real synthesis


@cache
def synth():  # type: ignore[no-untyped-def]
    from voiceguide.speech.synthesis import SynthesisUnavailable, Synthesizer

    try:
        return Synthesizer(content().locale.tts_voice)
    except SynthesisUnavailable as exc:
        pytest.skip(f"no speech synthesis here: {exc}")


def seconds(text: str, rate: float = 1.0) -> float:
    pcm = synth().render(text, content().locale.tts_voice, rate)
    return float(pcm.seconds)


def number_first_heard(out: list[OutputEvent], spoken_number: str) -> tuple[float, int]:
    """Seconds from the start of the message to the number, and how often it is said."""
    route = next(i for i, e in enumerate(out) if isinstance(e, Route))
    said = [e for e in out[route:] if isinstance(e, Speak)]
    t = 0.0
    for s in said:
        at = s.text.find(spoken_number)
        if at >= 0:
            before = s.text[:at].strip()
            times = sum(x.text.count(spoken_number) for x in said)
            return t + (seconds(before) if before else 0.0), times
        t += seconds(s.text)
    raise AssertionError("the number was never said")


@needs_espeak
@pytest.mark.parametrize("how", ["yes", "unclear", "emergency word"])
@pytest.mark.parametrize("setup", _setups(), ids=lambda s: str(next(iter(s.values()))))
def test_the_number_comes_within_five_seconds_and_twice(setup: dict[str, object], how: str) -> None:
    d = Driver(**setup)
    if how == "unclear":
        d.send(Silence())
        out = d.send(NoMatch())
    else:
        out = d.send(Heard("yes" if how == "yes" else "I fell"))
    at, times = number_first_heard(out, d.dialogue.spoken_number)
    assert at <= 5.0, (setup, how, at)
    assert times >= 2
    first = next(e for e in out if isinstance(e, Speak))
    assert first.prompt in ("emergency_script", "emergency_unclear")


def first_movement_with_instant_answers(seed: int) -> float:
    """Launch to the first movement cue when each answer comes as the guide stops."""
    d = Dialogue(content(), Settings(seed=seed), seconds)
    out = d.start(0.0)
    now, talk_ends = 0.0, 0.0
    for _ in range(500):
        for e in out:
            if isinstance(e, Speak):
                if e.prompt.endswith(":phase0"):
                    return now
                talk_ends = max(talk_ends, now) + seconds(e.text)
        if d.phase is Phase.SCREENING:
            now = max(now, talk_ends)
            out = d.handle(Heard("no"), now)
        elif d.phase is Phase.SETUP:
            now = max(now, talk_ends)
            out = d.handle(Heard("ready"), now)
        else:
            assert d.phase is Phase.COACHING
            now = max(now, next(e.at for e in reversed(out) if isinstance(e, WakeAt)))
            out = d.handle(Tick(), now)
    raise AssertionError("no movement reached")


@needs_espeak
def test_launch_to_first_movement_is_within_45_seconds_for_every_wording() -> None:
    times = [first_movement_with_instant_answers(seed) for seed in range(8)]
    assert max(times) <= 45.0, times
    # Every red flag was still asked, and the stop-on-pain rule still said.
    d = Driver()
    for _ in range(len(content().screening.questions)):
        d.send(Heard("no"))
    answers = [e for e in d.out if isinstance(e, AnswerGiven)]
    assert len(answers) == len(content().screening.questions)
    rule = content().prompts.variants(PromptId.SAFETY_RULE)
    assert all("it hurts" in r and "stop" in r for r in rule)


# ---------------------------------------------------------------- real recognition


@cache
def sphinx():  # type: ignore[no-untyped-def]
    from voiceguide.speech.pocketsphinx_engine import PocketSphinxRecognizer

    return PocketSphinxRecognizer(content().grammars)


def test_the_question_grammar_listens_for_the_commands() -> None:
    heard = set(content().grammars.acoustic_phrase_map("yes_no").values())
    assert {"louder", "quieter", "slower", "faster", "help", "repeat"} <= {i.value for i in heard}


@needs_espeak
@pytest.mark.parametrize("word", ["louder", "quieter", "slower", "faster"])
def test_a_spoken_command_during_a_question_is_applied_not_counted(word: str) -> None:
    from tests.speechgen import speak

    # The demo's user voice; PocketSphinx's small model misses some words in others
    # (issue 7's answer model is the fix for that, not this grammar).
    result = sphinx().recognize(speak(word, "en-us+f2", 150), "yes_no")
    assert result.accepted and result.intent is not None and result.intent.value == word
    d = Driver()
    question = [e for e in d.out if isinstance(e, Speak)][-1]
    for _ in range(3):  # more than the two unclear answers that would end the screening
        out = d.send(
            Heard(result.text, intent=result.intent, confidence=result.score, source="asr")
        )
        assert not any(isinstance(e, AnswerGiven) for e in out)
        assert [e for e in out if isinstance(e, Speak)][-1] == Speak(
            f"question:{question.prompt.split(':')[1]}:repeat", question.text
        )
    assert d.dialogue.phase is Phase.SCREENING and d.dialogue.unclear == 0
    assert RouteTo.EMERGENCY not in [e.to for e in d.out if isinstance(e, Route)]


class _TimedSink(SilentSink):
    """An output sink that, like the hands-free runtime, knows real speech lengths."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def speech_seconds(self, text: str, rate: float = 1.0) -> float:
        self.asked.append(text)
        return 2.0


def test_the_session_schedules_from_the_sinks_real_speech_lengths() -> None:
    from voiceguide.dialogue.clock import FakeClock
    from voiceguide.runtime.session import Session

    d = Dialogue(content(), Settings(seed=0))
    sink = _TimedSink()
    Session(d, FakeClock(), _NoInput(), sink)
    out = d.start(0.0)
    said = [e for e in out if isinstance(e, Speak)]
    wake = next(e.at for e in out if isinstance(e, WakeAt))
    assert [s.text for s in said] == sink.asked
    assert wake == 2.0 * len(said) + d.settings.answer_timeout_s


class _NoInput:
    def get(self, timeout: float | None) -> None:
        return None
