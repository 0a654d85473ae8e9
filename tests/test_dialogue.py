"""Scripted routes through the pure dialogue, with a fake clock."""

from __future__ import annotations

import itertools

from tests.helpers import Driver, content
from voiceguide.dialogue.controller import Phase
from voiceguide.dialogue.events import (
    AnswerGiven,
    CommandApplied,
    Count,
    End,
    HaltSpeech,
    Heard,
    Listen,
    NoMatch,
    Route,
    RouteTo,
    Silence,
    Speak,
    Tick,
    VoiceChange,
)
from voiceguide.dialogue.intents import Answer, Intent

N_QUESTIONS = len(content().screening.questions)


def cleared() -> Driver:
    d = Driver()
    for _ in range(N_QUESTIONS):
        d.send(Heard("no"))
    assert d.dialogue.phase is Phase.COACHING
    return d


def to_mid_count(d: Driver) -> None:
    """Run the coach until it has said "two" of the first hold."""
    for _ in range(600):
        d.run_until(d.now + 0.5)
        if any(isinstance(e, Count) and e.n == 2 for e in d.out):
            return
    raise AssertionError("the coach never started counting")


def counts_after(d: Driver, index: int) -> list[Count]:
    return [e for e in d.out[index:] if isinstance(e, Count)]


def spoken(events: list[object]) -> list[str]:
    return [e.prompt for e in events if isinstance(e, Speak)]


def test_start_asks_first_question_and_listens_for_yes_no() -> None:
    d = Driver()
    assert spoken(d.out)[:2] == ["welcome", "screening_intro"]
    assert spoken(d.out)[2] == "question:high_impact:ask"
    assert Listen("yes_no") in d.out


def test_yes_routes_to_emergency_with_number_and_urgency() -> None:
    d = Driver()
    d.send(Heard("no"))
    out = d.send(Heard("yeah"))
    assert AnswerGiven("cannot_bear_weight", Answer.YES) in out
    assert Route(RouteTo.EMERGENCY, "yes to cannot_bear_weight") in out
    script = next(e for e in out if isinstance(e, Speak) and e.prompt == "emergency_script")
    assert "9-1-1" in script.text and "six hours" in script.text
    assert "Do not try" in script.text
    assert d.dialogue.phase is Phase.EMERGENCY


def test_region_and_number_are_configurable() -> None:
    d = Driver(region="GB")
    out = d.send(Heard("yes"))
    assert any("9-9-9" in e.text for e in out if isinstance(e, Speak))
    d = Driver(emergency_number="5555")
    out = d.send(Heard("yes"))
    assert any("5-5-5-5" in e.text for e in out if isinstance(e, Speak))


def test_one_unclear_answer_rephrases_then_a_second_goes_to_emergency() -> None:
    d = Driver()
    out = d.send(Heard("maybe"))
    assert spoken(out) == ["question:high_impact:rephrase"]
    out = d.send(NoMatch("out_of_grammar"))
    assert Route(RouteTo.EMERGENCY, "no clear answer to high_impact") in out


def test_silence_timeout_counts_as_unclear() -> None:
    d = Driver(answer_timeout_s=5)
    deadline = d.wake()
    assert deadline is not None
    out = d.send(Tick(), dt=deadline - d.now - 0.01)
    assert spoken(out) == []  # before the deadline nothing happens
    assert d.dialogue.phase is Phase.SCREENING and d.dialogue.unclear == 0
    d.send(Tick(), dt=0.02)
    assert d.dialogue.unclear == 1
    d.send(Silence())
    assert d.dialogue.phase is Phase.EMERGENCY


def test_low_confidence_no_is_not_a_no() -> None:
    d = Driver()
    out = d.send(Heard("no", intent=Intent.NO, confidence=0.2, source="asr"))
    assert AnswerGiven("high_impact", Answer.UNCLEAR) in out
    assert d.dialogue.question == 0


def test_repeat_and_help_do_not_count_as_answers() -> None:
    d = Driver()
    d.send(Heard("maybe"))
    d.send(Heard("repeat"))
    d.send(Heard("what can I say"))
    assert d.dialogue.phase is Phase.SCREENING
    d.send(Heard("no"))
    assert d.dialogue.question == 1


def test_emergency_state_repeats_and_ends_only_when_asked() -> None:
    d = Driver()
    d.send(Heard("help"))
    assert d.dialogue.phase is Phase.EMERGENCY
    for event in (Heard("no"), Silence(), Heard("resume"), Tick()):
        d.send(event, dt=60)
        assert d.dialogue.phase is Phase.EMERGENCY
    out = d.send(Heard("repeat"))
    assert "emergency_script" in spoken(out)
    out = d.send(Heard("end session"))
    assert isinstance(out[-1], End) and d.dialogue.phase is Phase.ENDED


def test_all_no_reaches_coaching_and_counts_on_schedule() -> None:
    d = cleared()
    d.run_until(d.now + 120)
    counts = [e for e in d.out if isinstance(e, Count)]
    assert counts and counts[0].exercise == "glute_bridge"
    assert [c.n for c in counts[:3]] == [1, 2, 3]
    gaps = [b.scheduled - a.scheduled for a, b in itertools.pairwise(counts)]
    assert gaps[0] == gaps[1] == 1.0


def test_emergency_word_mid_count_halts_and_routes() -> None:
    d = cleared()
    to_mid_count(d)
    out = d.send(Heard("I fell"), dt=0.1)
    assert HaltSpeech() in out and Route(RouteTo.EMERGENCY, "emergency word") in out
    mark = len(d.out)
    d.run_until(d.now + 30)
    assert counts_after(d, mark) == []


def test_pain_halts_then_sharp_pain_ends_with_advice() -> None:
    d = cleared()
    to_mid_count(d)
    out = d.send(Heard("ouch"), dt=0.1)
    assert out[:2] == [CommandApplied(Intent.PAIN), HaltSpeech()]
    assert spoken(out) == ["pain_check"]
    mark = len(d.out)
    d.run_until(d.now + 5)  # less than the answer timeout: still waiting for the answer
    assert counts_after(d, mark) == []
    out = d.send(Heard("yes"))
    assert "pain_sharp_end" in spoken(out) and isinstance(out[-1], End)


def test_mild_pain_pauses_and_resume_restarts_the_repetition() -> None:
    d = cleared()
    to_mid_count(d)
    d.send(Heard("stop"), dt=0.1)
    assert d.dialogue.phase is Phase.PAIN_CHECK
    d.send(Heard("no"))
    assert d.dialogue.phase is Phase.PAUSED
    mark = len(d.out)
    d.run_until(d.now + 60)
    assert counts_after(d, mark) == []
    d.send(Heard("resume"))
    got = d.run_until(d.now + 30)
    counts = [e for e in got if isinstance(e, Count)]
    assert counts and counts[0].n == 1 and counts[0].exercise == "glute_bridge"


def test_unanswered_pain_check_is_treated_as_sharp() -> None:
    d = cleared()
    to_mid_count(d)
    d.send(Heard("it hurts"))
    d.send(Silence())
    out = d.send(NoMatch())
    assert "pain_sharp_end" in spoken(out)


def test_skip_moves_to_next_exercise_and_stop_from_pause_ends() -> None:
    d = cleared()
    to_mid_count(d)
    d.send(Heard("skip"))
    got = d.run_until(d.now + 60)
    assert {e.exercise for e in got if isinstance(e, Count)} == {"clamshell"}
    d.send(Heard("pause"))
    assert d.dialogue.phase is Phase.PAUSED
    out = d.send(Heard("stop"))
    assert "workout_stopped" in spoken(out) and d.dialogue.phase is Phase.ENDED


def test_slower_and_louder_change_voice_and_pace_within_bounds() -> None:
    d = cleared()
    to_mid_count(d)
    out = d.send(Heard("slower"))
    change = next(e for e in out if isinstance(e, VoiceChange))
    assert change.rate < 1.0
    for _ in range(20):
        d.send(Heard("slower"))
    assert d.dialogue.period <= d.dialogue.settings.max_count_period_s
    assert "at_slowest" in spoken(d.out)
    for _ in range(20):
        d.send(Heard("louder"))
    assert d.dialogue.volume == 1.0 and "at_loudest" in spoken(d.out)


def test_full_routine_finishes_with_wrap_up() -> None:
    d = cleared()
    d.run_until(d.now + 3600)
    assert d.dialogue.phase is Phase.ENDED
    said = spoken(d.out)
    assert "wrap_up" in said and said[-1] == "goodbye"
    exercises = [e.exercise for e in d.out if isinstance(e, Count)]
    assert list(dict.fromkeys(exercises)) == ["glute_bridge", "clamshell", "figure_four", "cat_cow"]


def test_same_seed_same_words() -> None:
    a, b = Driver(seed=7), Driver(seed=7)
    assert spoken(a.out) == spoken(b.out) and a.out == b.out
