"""Scripted routes through the pure dialogue, with a fake clock."""

from __future__ import annotations

import itertools

import pytest

from tests.helpers import Driver, content
from voiceguide.dialogue.controller import MAX_REMINDERS, READY_TIMEOUT_S, Phase
from voiceguide.dialogue.events import (
    AnswerGiven,
    Cause,
    CommandApplied,
    Count,
    End,
    HaltSpeech,
    Heard,
    Listen,
    NoMatch,
    OutputEvent,
    Route,
    RouteTo,
    Silence,
    Speak,
    Tick,
    VoiceChange,
)
from voiceguide.dialogue.intents import Answer, Intent

N_QUESTIONS = len(content().screening.questions)
DIGITS = content().locale.digit_words


def cleared(**settings: object) -> Driver:
    d = Driver(**settings)
    for _ in range(N_QUESTIONS):
        d.send(Heard("no"))
    assert d.dialogue.phase is Phase.COACHING
    return d


def to_setup(d: Driver) -> None:
    """Run the coach until it waits for "ready" after a setup."""
    for _ in range(600):
        if d.dialogue.phase is Phase.SETUP:
            return
        d.run_until(d.now + 0.5)
    raise AssertionError("the coach never waited for ready")


def to_mid_count(d: Driver) -> None:
    """Run the coach (saying "ready" after setups) until it has said "two" of a hold."""
    mark = len(d.out)
    for _ in range(600):
        if d.dialogue.phase is Phase.SETUP:
            d.send(Heard("ready"))
        d.run_until(d.now + 0.5)
        if any(isinstance(e, Count) and e.n == 2 for e in d.out[mark:]):
            return
    raise AssertionError("the coach never started counting")


def counts_after(d: Driver, index: int) -> list[Count]:
    return [e for e in d.out[index:] if isinstance(e, Count)]


def spoken(events: list[OutputEvent]) -> list[str]:
    return [e.prompt for e in events if isinstance(e, Speak)]


def texts(events: list[OutputEvent]) -> list[str]:
    return [e.text for e in events if isinstance(e, Speak)]


def said(number: str) -> str:
    """A number as the guide must say it: one digit word after another."""
    return " ".join(DIGITS[int(c)] for c in number)


# ---------------------------------------------------------------- start and screening


def test_start_asks_first_question_and_listens_for_yes_no() -> None:
    d = Driver()
    assert spoken(d.out)[:2] == ["welcome", "screening_intro"]
    assert spoken(d.out)[2] == "question:high_impact:ask"
    assert Listen("yes_no") in d.out


@pytest.mark.parametrize("seed", range(6))
def test_welcome_says_what_it_is_that_it_is_no_doctor_and_what_help_does(seed: int) -> None:
    welcome = texts(Driver(seed=seed).out)[0].lower()
    assert "exercise" in welcome and "not a doctor" in welcome
    assert "help" in welcome and "emergency" in welcome
    assert "just listen" not in welcome


def test_one_unclear_answer_rephrases_then_a_second_goes_to_emergency() -> None:
    d = Driver()
    out = d.send(Heard("maybe"))
    assert spoken(out) == ["question:high_impact:rephrase"]
    out = d.send(NoMatch("out_of_grammar"))
    assert Route(RouteTo.EMERGENCY, "no clear answer to high_impact", Cause.UNCLEAR) in out


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


def test_each_question_is_first_asked_in_its_own_wording_and_rephrased_only_when_unclear() -> None:
    questions = content().screening.questions
    for seed in range(4):  # the wording is drawn at random among the variants
        d = Driver(seed=seed)
        for i, q in enumerate(questions):
            asked = [e for e in d.out if isinstance(e, Speak)][-1]
            assert asked.prompt == f"question:{q.id}:ask" and asked.text in q.ask, (i, asked)
            d.send(NoMatch("no_speech"))
            again = [e for e in d.out if isinstance(e, Speak)][-1]
            assert again.prompt == f"question:{q.id}:rephrase" and again.text in q.rephrase
            d.send(Heard("no"))
        assert d.dialogue.phase is Phase.COACHING


def test_repeat_during_a_question_says_the_same_words_again() -> None:
    d = Driver()
    d.send(Heard("no"))
    asked = [e for e in d.out if isinstance(e, Speak)][-1]
    out = d.send(Heard("repeat"))
    q = content().screening.questions[1]
    assert [e for e in out if isinstance(e, Speak)] == [
        Speak(f"question:{q.id}:repeat", asked.text)
    ]
    assert Listen("yes_no") in out and d.dialogue.unclear == 0


@pytest.mark.parametrize("source", ["text", "asr"])
def test_commands_during_a_question_are_applied_and_the_question_asked_again(source: str) -> None:
    d = Driver()
    question = texts(d.out)[-1]
    for word, intent in [("louder", Intent.LOUDER), ("louder", Intent.LOUDER),
                         ("slower", Intent.SLOWER), ("quieter", Intent.QUIETER),
                         ("faster", Intent.FASTER), ("repeat", Intent.REPEAT),
                         ("what can I say", Intent.HELP)]:  # fmt: skip
        heard = Heard(word, intent=intent, confidence=0.9, source=source)
        out = d.send(heard if source == "asr" else Heard(word))
        assert not any(isinstance(e, AnswerGiven) for e in out), (word, out)
        assert texts(out)[-1] == question and Listen("yes_no") in out
        assert CommandApplied(intent) in out
    assert d.dialogue.volume > d.dialogue.settings.volume
    assert d.dialogue.phase is Phase.SCREENING and d.dialogue.unclear == 0
    help_text = next(t for t in texts(d.out) if "repeat, louder" in t)
    assert "yes or no" in help_text


def test_what_can_i_say_lists_the_commands_everywhere() -> None:
    d = cleared()
    to_mid_count(d)
    out = d.send(Heard("what can I say"))
    listed = texts(out)[0]
    for word in ("pause", "resume", "repeat", "skip", "stop", "finish", "slower", "faster",
                 "louder", "quieter", "it hurts", "help"):  # fmt: skip
        assert word in listed, word


@pytest.mark.parametrize(
    ("qid", "text", "expected"),
    [
        ("cannot_bear_weight", "I can't stand", Answer.YES),
        ("cannot_bear_weight", "I cannot walk", Answer.YES),
        ("cannot_bear_weight", "I can walk", Answer.NO),
        ("cannot_bear_weight", "no, I can stand on it", Answer.NO),
        ("cannot_bear_weight", "yes I can walk", Answer.UNCLEAR),
        ("high_impact", "I can walk", Answer.UNCLEAR),
        ("high_impact", "I didn't fall", Answer.NO),
        ("severe_pain", "it's just an ache", Answer.NO),
        ("severe_pain", "it's unbearable", Answer.YES),
        ("deformity", "it looks normal", Answer.NO),
        ("deformity", "I can stand", Answer.UNCLEAR),
    ],
)
def test_full_sentence_answers_count_for_their_own_question_only(
    qid: str, text: str, expected: Answer
) -> None:
    d = Driver()
    while d.dialogue.current_question_id != qid:
        d.send(Heard("no"))
    out = d.send(Heard(text))
    assert AnswerGiven(qid, expected) in out


def test_same_seed_same_words() -> None:
    a, b = Driver(seed=7), Driver(seed=7)
    assert spoken(a.out) == spoken(b.out) and a.out == b.out


# ---------------------------------------------------------------- emergency route


def emergency_out(d: Driver, how: str = "yes") -> list[OutputEvent]:
    if how == "unclear":
        d.send(Silence())
        return d.send(NoMatch())
    return d.send(Heard(how))


def test_yes_routes_to_emergency_action_first_number_twice_then_why() -> None:
    d = Driver()
    d.send(Heard("no"))
    out = d.send(Heard("yeah"))
    assert AnswerGiven("cannot_bear_weight", Answer.YES) in out
    assert Route(RouteTo.EMERGENCY, "yes to cannot_bear_weight", Cause.YES) in out
    assert spoken(out) == ["emergency_script", "emergency_why", "emergency_options"]
    first, why = texts(out)[:2]
    assert first.startswith("Stay still") and first.count(said("911")) == 2
    assert "-" not in first and "911" not in first
    assert "six hours" in why and "blood" in why and "Do not try" in why
    assert d.dialogue.phase is Phase.EMERGENCY


def test_unclear_answers_say_so_before_the_instruction() -> None:
    d = Driver()
    out = emergency_out(d, "unclear")
    assert spoken(out)[:2] == ["emergency_unclear", "emergency_script"]
    assert "clear answer" in texts(out)[0]
    out = emergency_out(Driver(), "yes")
    assert "emergency_unclear" not in spoken(out)


@pytest.mark.parametrize(
    ("region", "number", "others"),
    [("US", "911", []), ("CA", "911", []), ("GB", "999", ["112"]), ("IE", "112", ["999"]),
     ("EU", "112", []), ("AU", "000", ["112"]), ("NZ", "111", []), ("IN", "112", [])],
)  # fmt: skip
def test_only_the_numbers_of_the_region_are_given(
    region: str, number: str, others: list[str]
) -> None:
    out = emergency_out(Driver(region=region))
    whole = " ".join(texts(out))
    assert texts(out)[0].count(said(number)) == 2
    alternatives = [
        e.text for e in out if isinstance(e, Speak) and e.prompt.endswith("alternative")
    ]
    assert len(alternatives) == len(others)
    for text, other in zip(alternatives, others, strict=True):
        assert said(other) in text
    for foreign in {"911", "999", "112", "000", "111"} - {number, *others}:
        assert said(foreign) not in whole, (region, foreign)


@pytest.mark.parametrize(
    ("dialed", "words"),
    [
        ("5551234", "five five five, one two three four"),
        ("+441234567890", "plus four four one, two three four, five six seven, eight nine zero"),
        ("112", "one one two"),
    ],
)
def test_own_number_is_spoken_digit_by_digit_with_the_region_number_after(
    dialed: str, words: str
) -> None:
    out = emergency_out(Driver(emergency_number=dialed))
    assert texts(out)[0].count(words) == 2
    alternatives = [
        e.text for e in out if isinstance(e, Speak) and e.prompt.endswith("alternative")
    ]
    assert alternatives == ([] if dialed == "911" else [alternatives[0]])
    if dialed != "911":
        assert said("911") in alternatives[0]


def test_repeat_gives_the_short_instruction_and_the_number_only() -> None:
    d = Driver()
    emergency_out(d)
    out = d.send(Heard("repeat"))
    assert spoken(out) == ["emergency_short"]
    assert texts(out)[0].count(said("911")) == 2
    out = d.send(Heard("help"))  # an emergency word again: the short form too
    assert spoken(out) == ["emergency_short"] and d.dialogue.phase is Phase.EMERGENCY


def test_reminders_go_on_at_a_pace_then_stop_with_a_last_message() -> None:
    d = Driver()
    emergency_out(d)
    for event in (Heard("no"), Silence(), NoMatch(), Heard("resume")):
        assert spoken(d.send(event)) == []  # chatter or a call: no reminder talks over it
    got = d.run_until(d.now + 3600)
    reminders = [e for e in got if isinstance(e, Speak) and e.prompt == "emergency_reminder"]
    assert len(reminders) == MAX_REMINDERS
    assert spoken(got)[-1] == "emergency_last" and said("911") in texts(got)[-1]
    assert d.wake() is None or d.wake() <= d.now  # nothing further is scheduled
    assert d.dialogue.phase is Phase.EMERGENCY  # still listening for words
    assert spoken(d.send(Heard("repeat"))) == ["emergency_short"]


@pytest.mark.parametrize("words", ["I called", "I'm on the phone", "quiet"])
def test_i_called_quiets_the_reminders_with_a_way_back(words: str) -> None:
    d = Driver()
    emergency_out(d)
    out = d.send(Heard(words))
    assert spoken(out) == ["emergency_quiet"] and "repeat" in texts(out)[0]
    assert spoken(d.run_until(d.now + 3600)) == []
    out = d.send(Heard("repeat"))
    assert spoken(out) == ["emergency_short"]
    assert spoken(d.run_until(d.now + 3600)) == []  # still quiet
    out = d.send(Heard("end session"))
    assert isinstance(out[-1], End) and d.dialogue.phase is Phase.ENDED


@pytest.mark.parametrize("words", ["false alarm", "I'm okay"])
def test_false_alarm_goes_back_through_the_whole_screening(words: str) -> None:
    d = Driver()
    for _ in range(N_QUESTIONS - 1):
        d.send(Heard("no"))
    emergency_out(d)
    out = d.send(Heard(words))
    assert Route(RouteTo.SCREENING, "false alarm") in out
    assert spoken(out) == ["emergency_cancelled", "question:high_impact:ask"]
    assert d.dialogue.phase is Phase.SCREENING and d.dialogue.question == 0
    assert d.dialogue.cleared == []
    for _ in range(N_QUESTIONS - 1):
        d.send(Heard("no"))
        assert d.dialogue.phase is Phase.SCREENING
    out = d.send(Heard("no"))
    assert Route(RouteTo.COACHING, "cleared") in out


def test_false_alarm_after_unclear_answers_starts_the_count_of_unclear_answers_anew() -> None:
    """Two unclear answers took the emergency route; after "false alarm" the first
    question gets its one rephrased re-ask again, not the route at the first doubt."""
    d = Driver()
    d.send(NoMatch("no_speech"))
    d.send(Silence())
    assert d.dialogue.phase is Phase.EMERGENCY
    out = d.send(Heard("false alarm"))
    assert out[0] == CommandApplied(Intent.FALSE_ALARM)
    out = d.send(NoMatch("no_speech"))
    assert d.dialogue.phase is Phase.SCREENING
    assert spoken(out) == ["question:high_impact:rephrase"]
    d.send(NoMatch("no_speech"))
    assert d.dialogue.phase is Phase.EMERGENCY


def test_false_alarm_means_nothing_outside_the_emergency_route() -> None:
    d = Driver()
    out = d.send(Heard("false alarm"))
    assert AnswerGiven("high_impact", Answer.UNCLEAR) in out


def test_emergency_word_mid_count_halts_and_routes() -> None:
    d = cleared()
    to_mid_count(d)
    out = d.send(Heard("I fell"), dt=0.1)
    assert (
        HaltSpeech() in out
        and Route(RouteTo.EMERGENCY, "emergency word", Cause.EMERGENCY_WORD) in out
    )
    mark = len(d.out)
    d.run_until(d.now + 30)
    assert counts_after(d, mark) == []


def test_emergency_word_while_waiting_for_ready_routes() -> None:
    d = cleared()
    to_setup(d)
    out = d.send(Heard("help"))
    assert Route(RouteTo.EMERGENCY, "emergency word", Cause.EMERGENCY_WORD) in out


# ---------------------------------------------------------------- coaching


def test_all_no_reaches_coaching_and_counts_on_schedule() -> None:
    d = cleared()
    to_mid_count(d)
    d.run_until(d.now + 60)
    counts = [e for e in d.out if isinstance(e, Count)]
    assert counts and counts[0].exercise == "glute_bridge"
    assert [c.n for c in counts[:3]] == [1, 2, 3]
    gaps = [b.scheduled - a.scheduled for a, b in itertools.pairwise(counts)]
    assert gaps[0] == gaps[1] == 1.0


def test_setup_waits_for_ready() -> None:
    d = cleared()
    to_setup(d)
    assert spoken(d.out)[-2:] == ["exercise:glute_bridge:setup", "ready_wait"]
    mark = len(d.out)
    d.run_until(d.now + READY_TIMEOUT_S - 5)
    assert counts_after(d, mark) == [] and spoken(d.out[mark:]) == []
    out = d.send(Heard("I'm ready"))
    assert CommandApplied(Intent.RESUME) in out
    assert spoken(out) == ["exercise:glute_bridge:phase0"]  # the movement, at once
    d.run_until(d.now + 10)
    assert counts_after(d, mark)


def test_setup_without_ready_reminds_once_then_begins() -> None:
    d = cleared()
    to_setup(d)
    mark = len(d.out)
    d.run_until(d.now + READY_TIMEOUT_S + 10)
    assert spoken(d.out[mark:]) == ["ready_reminder"] and counts_after(d, mark) == []
    d.run_until(d.now + READY_TIMEOUT_S + 30)
    assert spoken(d.out[mark:])[:3] == [
        "ready_reminder",
        "ready_timeout",
        "exercise:glute_bridge:phase0",
    ]
    assert counts_after(d, mark)


def test_repeat_during_setup_says_the_setup_again_and_waits_again() -> None:
    d = cleared()
    to_setup(d)
    out = d.send(Heard("repeat"))
    assert spoken(out) == ["exercise:glute_bridge:setup"]
    d.run_until(d.now + 15)
    assert d.dialogue.phase is Phase.SETUP and spoken(d.out)[-1] == "ready_wait"


def _spoken_routine(d: Driver) -> list[Speak]:
    for _ in range(2000):
        if d.dialogue.phase is Phase.ENDED:
            break
        if d.dialogue.phase is Phase.SETUP:
            d.send(Heard("ready"))
        d.run_until(d.now + 5)
    assert d.dialogue.phase is Phase.ENDED
    return [e for e in d.out if isinstance(e, Speak)]


def test_full_routine_names_sides_announces_progress_and_rests() -> None:
    said_ = _spoken_routine(cleared())
    prompts = [s.prompt for s in said_]
    assert "wrap_up" in prompts and prompts[-1] == "goodbye"
    assert prompts.count("rest") == sum(
        len(e.sides or [""]) * (e.reps - 1) for e in content().routine.exercises
    )
    lines = [s.text for s in said_]
    assert "Exercise one of four: the glute bridge." in lines
    assert any(t.startswith("Number two of eight.") for t in lines)
    assert sum(t.startswith("Last one.") for t in lines) == 1 + 2 + 2 + 1
    side_lines = [s.text for s in said_ if s.prompt in ("side_intro", "side_next")]
    assert side_lines == [
        "We start with your left leg.",
        "Now your right leg.",
        "We start with your left leg.",
        "Now your right leg.",
    ]
    setups = [s.text for s in said_ if s.prompt.endswith(":setup")]
    assert "Lie on your right side" in setups[1] and "left leg on top" in setups[1]
    assert "Lie on your left side" in setups[2] and "right leg on top" in setups[2]
    assert "Cross your left ankle over your right knee" in setups[3]
    assert "Cross your right ankle over your left knee" in setups[4]
    releases = [s.text for s in said_ if s.prompt == "exercise:figure_four:release"]
    assert "right foot" in releases[0] and "left foot" in releases[-1]
    assert all("{" not in t and "that foot" not in t for t in lines)


def test_stop_halts_and_offers_resume_or_finish() -> None:
    d = cleared()
    to_mid_count(d)
    out = d.send(Heard("stop"), dt=0.1)
    assert out[:2] == [CommandApplied(Intent.STOP), HaltSpeech()]
    assert spoken(out) == ["stopped"]
    assert "resume" in texts(out)[0] and "finish" in texts(out)[0]
    assert d.dialogue.phase is Phase.PAUSED
    mark = len(d.out)
    d.run_until(d.now + 60)
    assert counts_after(d, mark) == []
    d.send(Heard("resume"))
    got = d.run_until(d.now + 30)
    counts = [e for e in got if isinstance(e, Count)]
    assert counts and counts[0].n == 1 and counts[0].exercise == "glute_bridge"
    out = d.send(Heard("stop"))
    assert spoken(out) == ["stopped"]
    out = d.send(Heard("finish"))
    assert "workout_stopped" in spoken(out) and d.dialogue.phase is Phase.ENDED


def test_stop_during_setup_offers_resume_which_says_the_setup_again() -> None:
    d = cleared()
    to_setup(d)
    out = d.send(Heard("stop"))
    assert spoken(out) == ["stopped"] and d.dialogue.phase is Phase.PAUSED
    out = d.send(Heard("resume"))
    out += d.run_until(d.now + 15)
    assert spoken(out)[:3] == ["resumed", "exercise:glute_bridge:setup", "ready_wait"]
    assert d.dialogue.phase is Phase.SETUP


@pytest.mark.parametrize("word", ["ouch", "it hurts", "pain"])
def test_pain_halts_then_one_question_and_sharp_pain_ends_with_the_number(word: str) -> None:
    d = cleared()
    to_mid_count(d)
    out = d.send(Heard(word), dt=0.1)
    assert out[:2] == [CommandApplied(Intent.PAIN), HaltSpeech()]
    assert spoken(out) == ["pain_check"]
    question = texts(out)[0]
    assert question.count("?") == 1 and " or " not in question.split("?")[0]
    mark = len(d.out)
    d.run_until(d.now + 5)  # less than the answer timeout: still waiting for the answer
    assert counts_after(d, mark) == []
    out = d.send(Heard("sharp"))
    assert AnswerGiven("pain_check", Answer.YES) in out
    assert "pain_sharp_end" in spoken(out) and isinstance(out[-1], End)
    end = next(e.text for e in out if isinstance(e, Speak) and e.prompt == "pain_sharp_end")
    assert said("911") in end and "say help" not in end.lower()


def test_mild_pain_pauses_and_resume_restarts_the_repetition() -> None:
    d = cleared()
    to_mid_count(d)
    d.send(Heard("it hurts"), dt=0.1)
    assert d.dialogue.phase is Phase.PAIN_CHECK
    d.send(Heard("louder"))  # a command is not an answer
    assert d.dialogue.phase is Phase.PAIN_CHECK
    d.send(Heard("it's just an ache"))
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
    mark = len(d.out)
    to_mid_count(d)
    assert {e.exercise for e in counts_after(d, mark)} == {"clamshell"}
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


def test_slower_cuts_the_sentence_being_said_and_answers_before_it_is_said_again() -> None:
    d = cleared()
    to_setup(d)
    d.send(Heard("ready"))
    cue = next(e for e in reversed(d.out) if isinstance(e, Speak))
    assert cue.prompt == "exercise:glute_bridge:phase0"
    out = d.send(Heard("slower"), dt=0.5)  # while the movement cue is still being said
    ack = next(i for i, e in enumerate(out) if isinstance(e, Speak) and e.prompt == "slower")
    assert out.index(HaltSpeech()) < ack  # the cue is cut first, so the answer comes now
    assert spoken(out) == ["slower"]
    got = d.run_until(d.now + 15)
    assert texts(got)[0] == cue.text  # then the cut cue, whole, at the new pace


def test_schedule_follows_the_injected_speech_length() -> None:
    """The runtime injects the synthesizer's real length; counts leave exactly room."""
    for seconds in (1.5, 6.5):
        d = Driver()
        d.dialogue.speech_seconds = lambda text, rate=1.0, s=seconds: s
        for _ in range(N_QUESTIONS):
            d.send(Heard("no"))
        to_setup(d)
        d.send(Heard("ready"))
        start = d.now
        to_mid_count(d)
        first = next(e for e in d.out if isinstance(e, Count))
        # The movement cue is said, then one period to move, then "one".
        assert first.scheduled - start == pytest.approx(seconds + d.dialogue.period)
