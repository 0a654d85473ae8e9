"""The answer-model fusion pinned exactly: every threshold's edge, every reason, every
score and every field a fused result carries (found by mutation testing, BENCHMARKS.md).

``test_fusion.py`` states the rule's safety properties over random thresholds; here each
comparison is driven to its edge (at the threshold, just under it), so that turning a
``>=`` into ``>`` or an ``and`` into ``or`` fails a test. The recognizers run for real;
only what the grammar engine and the answer model would return is scripted (the model's
class probabilities per segment), so that each rule meets exactly the evidence it exists
for.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tests.voicefakes import buzz
from voiceguide.content import load_grammars
from voiceguide.content.models import GrammarBook
from voiceguide.dialogue.intents import Intent
from voiceguide.speech.answer_model import CLASSES, AnswerModel, Scores
from voiceguide.speech.fused import (
    AnswerModelRecognizer,
    FusedRecognizer,
    combine,
    engine_no,
    evidence,
    thresholds_of,
)
from voiceguide.speech.fusion import (
    EngineNo,
    ModelEvidence,
    Thresholds,
    Verdict,
    accepts_no,
    fuse,
    no_needed,
)
from voiceguide.speech.recognizer import Recognition, Samples

T = Thresholds(
    no=0.9,
    yes=0.7,
    emergency=0.8,
    yes_doubt=0.3,
    no_needs=EngineNo.OTHER_WORD,
    no_if_accepted=0.5,
    no_if_top=0.6,
)
#: Just under a threshold.
UNDER = 1e-6
PHRASES = {
    "no": Intent.NO,
    "nope": Intent.NO,
    "yes": Intent.YES,
    "yeah": Intent.YES,
    "repeat": Intent.REPEAT,
    "help": Intent.EMERGENCY,
}
YES_NO = {Intent.YES, Intent.NO, Intent.EMERGENCY, Intent.REPEAT}
COACHING = {Intent.EMERGENCY, Intent.PAUSE, Intent.STOP}


def m(yes: float = 0.0, no: float = 0.0, emergency: float = 0.0) -> ModelEvidence:
    return ModelEvidence(yes=yes, no=no, emergency=emergency)


# ---------------------------------------------------------------- fusion.no_needed


def test_the_model_needs_less_as_the_engine_backs_no_more() -> None:
    assert [no_needed(e, T) for e in EngineNo] == [None, 0.9, 0.9, 0.6, 0.5]


@pytest.mark.parametrize(
    ("no_needs", "allowed"),
    [
        (EngineNo.RIVAL, [False, True, True, True, True]),
        (EngineNo.OTHER_WORD, [False, True, True, True, True]),
        (EngineNo.NOTHING, [False, False, True, True, True]),
        (EngineNo.TOP, [False, False, False, True, True]),
        (EngineNo.ACCEPTED, [False, False, False, False, True]),
    ],
)
def test_no_needs_is_the_least_engine_support_that_allows_a_no(
    no_needs: EngineNo, allowed: list[bool]
) -> None:
    t = replace(T, no_needs=no_needs)
    assert [no_needed(e, t) is not None for e in EngineNo] == allowed


def test_a_tier_above_the_one_below_it_is_not_used() -> None:
    """Stronger engine evidence never asks more of the model."""
    loose = replace(T, no_if_top=0.95, no_if_accepted=0.99)
    assert [no_needed(e, loose) for e in EngineNo] == [None, 0.9, 0.9, 0.9, 0.9]
    accepted_above_top = replace(T, no_if_top=0.6, no_if_accepted=0.8)
    assert no_needed(EngineNo.ACCEPTED, accepted_above_top) == 0.6
    assert no_needed(EngineNo.TOP, replace(T, no_if_accepted=0.1)) == 0.6


# ---------------------------------------------------------------- fusion.accepts_no


def test_accepts_no_at_the_edges() -> None:
    assert accepts_no(m(no=0.9), EngineNo.NOTHING, T), "at the threshold is enough"
    assert not accepts_no(m(no=0.9 - UNDER), EngineNo.NOTHING, T)
    assert accepts_no(m(no=0.6), EngineNo.TOP, T)
    assert not accepts_no(m(no=0.6 - UNDER), EngineNo.TOP, T)
    assert accepts_no(m(no=0.5), EngineNo.ACCEPTED, T)
    assert not accepts_no(m(no=0.5 - UNDER), EngineNo.ACCEPTED, T)
    assert accepts_no(m(yes=0.3 - UNDER, no=0.9), EngineNo.NOTHING, T)
    assert not accepts_no(m(yes=0.3, no=0.9), EngineNo.NOTHING, T), "a yes-leaning segment"
    assert not accepts_no(m(no=1.0), EngineNo.RIVAL, T)
    assert not accepts_no(m(no=1.0), EngineNo.NOTHING, replace(T, no_needs=EngineNo.TOP))


# ---------------------------------------------------------------- fusion.fuse


@pytest.mark.parametrize(
    ("model", "engine", "engine_yes", "want"),
    [
        # emergency first, at its threshold, over anything else
        (m(0.99, 0.99, 0.8), EngineNo.ACCEPTED, True, Verdict(Intent.EMERGENCY, "")),
        (m(0.0, 0.0, 0.8 - UNDER), EngineNo.NOTHING, False, Verdict(None, "not_an_answer")),
        # yes at its threshold, unless the engine heard "no"
        (m(yes=0.7), EngineNo.NOTHING, False, Verdict(Intent.YES, "")),
        (m(yes=0.7), EngineNo.OTHER_WORD, False, Verdict(Intent.YES, "")),
        (m(yes=0.7), EngineNo.RIVAL, False, Verdict(Intent.YES, "")),
        (m(yes=0.7), EngineNo.TOP, False, Verdict(None, "models_disagree")),
        (m(yes=0.7), EngineNo.ACCEPTED, False, Verdict(None, "models_disagree")),
        (m(yes=0.7 - UNDER), EngineNo.NOTHING, False, Verdict(None, "not_an_answer")),
        # both at once
        (m(yes=0.7, no=0.9), EngineNo.NOTHING, False, Verdict(None, "mixed_answer")),
        (m(yes=0.7, no=0.9 - UNDER), EngineNo.NOTHING, False, Verdict(Intent.YES, "")),
        # no
        (m(no=0.9), EngineNo.NOTHING, False, Verdict(Intent.NO, "")),
        (m(no=0.9), EngineNo.RIVAL, False, Verdict(None, "doubtful_no")),
        (m(yes=0.3, no=0.9), EngineNo.ACCEPTED, False, Verdict(None, "doubtful_no")),
        (m(no=0.7), EngineNo.TOP, False, Verdict(Intent.NO, "")),
        (m(no=0.7), EngineNo.NOTHING, False, Verdict(None, "not_an_answer")),
        # the engine's sure "yes" stands while the model does not lean to "no"
        (m(no=0.3 - UNDER), EngineNo.RIVAL, True, Verdict(Intent.YES, "")),
        (m(no=0.3), EngineNo.RIVAL, True, Verdict(None, "not_an_answer")),
        (m(no=0.1), EngineNo.RIVAL, False, Verdict(None, "not_an_answer")),
    ],
)
def test_fuse_at_the_edges(
    model: ModelEvidence, engine: EngineNo, engine_yes: bool, want: Verdict
) -> None:
    assert fuse(model, engine, engine_yes, T) == want


# ---------------------------------------------------------------- fused.engine_no


@pytest.mark.parametrize(
    ("result", "want"),
    [
        (Recognition("no", Intent.NO, 0.9, True), EngineNo.ACCEPTED),
        # an intent that was not accepted is only a top decode
        (Recognition("no", Intent.NO, 0.9, False, "ambiguous_no"), EngineNo.TOP),
        (Recognition("nope", None, 0.4, False, "ambiguous_no"), EngineNo.TOP),
        (Recognition("yes", Intent.YES, 0.9, True), EngineNo.RIVAL),
        (Recognition("yes", None, 0.4, False, "low_score"), EngineNo.RIVAL),
        (Recognition("repeat", Intent.REPEAT, 0.9, True), EngineNo.RIVAL),
        (Recognition("", None, 0.0, False, "no_hypothesis"), EngineNo.NOTHING),
        (Recognition("go", None, 0.0, False, "out_of_grammar"), EngineNo.OTHER_WORD),
    ],
)
def test_engine_no(result: Recognition, want: EngineNo) -> None:
    assert engine_no(result, PHRASES) is want


# ---------------------------------------------------------------- fused.combine


def test_an_accepted_command_stands_whatever_the_model_says_but_a_call_for_help() -> None:
    repeat = Recognition("repeat", Intent.REPEAT, 0.77, True)
    help_ = Recognition("help", Intent.EMERGENCY, 0.66, True)
    loud = m(yes=0.99, no=0.99, emergency=T.emergency - UNDER)
    assert combine(repeat, loud, T, YES_NO, PHRASES) == (Intent.REPEAT, "", 0.77)
    assert combine(help_, m(), T, YES_NO, PHRASES) == (Intent.EMERGENCY, "", 0.66)
    pause = Recognition("pause", Intent.PAUSE, 0.55, True)
    assert combine(pause, loud, T, COACHING, {}) == (Intent.PAUSE, "", 0.55)
    # the model sure of a call for help outranks it (test_emergency_outranks.py)
    sure = m(yes=0.99, no=0.99, emergency=T.emergency)
    assert combine(pause, sure, T, COACHING, {}) == (Intent.EMERGENCY, "", T.emergency)


def test_combine_scores_what_decided() -> None:
    accepted_yes = Recognition("yes", Intent.YES, 0.95, True)
    rejected_yes = Recognition("yes", None, 0.95, False, "low_score")
    nothing = Recognition("", None, 0.0, False, "no_hypothesis")
    # the engine's score counts toward a yes only when the engine accepted it
    assert combine(accepted_yes, m(yes=0.75), T, YES_NO, PHRASES) == (Intent.YES, "", 0.95)
    assert combine(accepted_yes, m(yes=0.1), T, YES_NO, PHRASES) == (Intent.YES, "", 0.95)
    assert combine(rejected_yes, m(yes=0.75), T, YES_NO, PHRASES) == (Intent.YES, "", 0.75)
    assert combine(nothing, m(yes=0.99), T, YES_NO, PHRASES) == (Intent.YES, "", 0.99)
    # a sure "yes" from the engine is not the model's "no"
    assert combine(accepted_yes, m(no=0.95), T, YES_NO, PHRASES)[0] is not Intent.NO
    assert combine(nothing, m(no=0.93), T, YES_NO, PHRASES) == (Intent.NO, "", 0.93)
    assert combine(nothing, m(emergency=0.85), T, YES_NO, PHRASES) == (Intent.EMERGENCY, "", 0.85)
    unclear = combine(rejected_yes, m(no=0.92), T, YES_NO, PHRASES)
    assert unclear == (None, "doubtful_no", 0.92)


def test_an_accepted_no_still_needs_the_model() -> None:
    accepted_no = Recognition("no", Intent.NO, 0.99, True)
    assert combine(accepted_no, m(no=0.5), T, YES_NO, PHRASES) == (Intent.NO, "", 0.5)
    assert combine(accepted_no, m(no=0.4), T, YES_NO, PHRASES) == (None, "not_an_answer", 0.4)
    # nor does the engine's accepted "no" count as the engine being sure of "yes"
    assert combine(accepted_no, m(no=0.1), T, YES_NO, PHRASES) == (None, "not_an_answer", 0.1)


def test_grammars_without_answers_hear_only_the_models_emergency() -> None:
    rejected = Recognition("", None, 0.3, False, "no_hypothesis")
    assert combine(rejected, m(emergency=0.8), T, COACHING, {}) == (Intent.EMERGENCY, "", 0.8)
    assert combine(rejected, m(emergency=0.8 - UNDER), T, COACHING, {}) == (
        None,
        "no_hypothesis",
        0.0,
    )
    # the model's yes and no mean nothing where no answer is listened for
    assert combine(rejected, m(yes=1.0, no=1.0), T, COACHING, {}) == (None, "no_hypothesis", 0.0)
    # a grammar without the emergency intent does not get it from the model
    assert combine(rejected, m(emergency=1.0), T, {Intent.PAUSE}, {}) == (
        None,
        "no_hypothesis",
        0.0,
    )


def test_a_grammar_with_either_answer_goes_through_the_fusion_rule() -> None:
    nothing = Recognition("", None, 0.0, False, "no_hypothesis")
    for intents in ({Intent.YES}, {Intent.NO}):
        assert combine(nothing, m(yes=0.9), T, intents, PHRASES) == (Intent.YES, "", 0.9)


# ---------------------------------------------------------------- thresholds and evidence


class ScriptedModel(AnswerModel):
    """The answer model with its class probabilities scripted (no embedding, no head)."""

    def __init__(self, thresholds: dict[str, float], segments: list[list[float]]) -> None:
        self._thresholds = thresholds
        self.segments = segments
        self.heard: list[Samples] = []

    @property
    def thresholds(self) -> dict[str, float]:
        return self._thresholds

    def scores(self, samples: Samples) -> Scores:
        self.heard.append(samples)
        return Scores(np.array(self.segments))  # float64: thresholds' edges stay exact


#: T as the head's JSON stores it (``thresholds``; no_needs as a number).
STORED = {
    "no": 0.9,
    "yes": 0.7,
    "emergency": 0.8,
    "yes_doubt": 0.3,
    "no_needs": 1.0,
    "no_if_accepted": 0.5,
    "no_if_top": 0.6,
}


def probs(yes: float = 0.0, no: float = 0.0, emergency: float = 0.0) -> list[float]:
    return [yes, no, emergency, 0.0, 0.0]


def test_thresholds_are_read_from_the_head() -> None:
    assert thresholds_of(ScriptedModel(STORED, [])) == T
    older = {k: v for k, v in STORED.items() if not k.startswith("no_if")}
    assert thresholds_of(ScriptedModel(older, [])) == replace(T, no_if_accepted=0.9, no_if_top=0.9)


def test_evidence_is_each_class_at_its_strongest_segment() -> None:
    assert CLASSES[:3] == ("yes", "no", "emergency")
    scores = Scores(np.array([[0.1, 0.6, 0.2, 0.1, 0.0], [0.5, 0.2, 0.3, 0.0, 0.0]]))
    assert evidence(scores) == ModelEvidence(yes=0.5, no=0.6, emergency=0.3)


# ---------------------------------------------------------------- FusedRecognizer


class ScriptedEngine:
    """A grammar engine that returns what it is given, and records what it was asked."""

    name = "pocketsphinx"
    language = "xx"

    def __init__(self, result: Recognition) -> None:
        self.result = result
        self.asked: list[tuple[str, frozenset[str]]] = []

    def recognize(
        self, samples: Samples, grammar: str, speaking: frozenset[str] = frozenset()
    ) -> Recognition:
        self.asked.append((grammar, speaking))
        return self.result


@pytest.fixture(scope="module")
def grammars() -> GrammarBook:
    return load_grammars("en")


def fused(result: Recognition, segments: list[float], grammars: GrammarBook) -> FusedRecognizer:
    return FusedRecognizer(ScriptedEngine(result), ScriptedModel(STORED, [segments]), grammars)


AUDIO = buzz(0.5)
ALTERNATIVES = ("no", "go")


def test_fused_names_itself_after_its_engine(grammars: GrammarBook) -> None:
    engine = ScriptedEngine(Recognition("", None, 0.0, False, "silence"))
    recognizer = FusedRecognizer(engine, ScriptedModel(STORED, []), grammars)
    assert recognizer.name == "pocketsphinx + answer model"
    assert recognizer.language == "xx"
    assert recognizer.thresholds == T
    assert recognizer.missing_words == {}
    engine.missing_words = {"yes_no": ["nah"]}  # type: ignore[attr-defined]
    recognizer = FusedRecognizer(engine, ScriptedModel(STORED, []), grammars)
    assert recognizer.missing_words == {"yes_no": ["nah"]}


def test_silence_and_speech_over_the_guide_are_the_engines_alone(grammars: GrammarBook) -> None:
    silence = Recognition("", None, 0.0, False, "silence")
    r = fused(silence, probs(no=1.0), grammars)
    assert r.recognize(AUDIO, "yes_no") is silence
    over = Recognition("", None, 0.0, False, "no_hypothesis")
    r = fused(over, probs(emergency=1.0), grammars)
    assert r.recognize(AUDIO, "coaching", frozenset({"bridge"})) is over
    assert isinstance(r.model, ScriptedModel) and r.model.heard == [], "model not consulted"
    assert isinstance(r.engine, ScriptedEngine)
    assert r.engine.asked == [("coaching", frozenset({"bridge"}))]


def test_fused_rejection_keeps_the_engines_text(grammars: GrammarBook) -> None:
    base = Recognition("go", None, 0.1, False, "out_of_grammar", ALTERNATIVES)
    r = fused(base, probs(yes=0.1, no=0.2), grammars)
    got = r.recognize(AUDIO, "yes_no")
    assert isinstance(r.model, ScriptedModel) and r.model.heard[0] is AUDIO
    assert isinstance(r.engine, ScriptedEngine) and r.engine.asked == [("yes_no", frozenset())]
    assert (got.text, got.intent, got.score, got.accepted, got.reason) == (
        "go",
        None,
        pytest.approx(0.2),
        False,
        "not_an_answer",
    )
    assert got.alternatives == ALTERNATIVES
    assert got.engine == "pocketsphinx + answer model"
    assert got.audio_seconds == 0.5


def test_the_engines_own_command_is_returned_untouched(grammars: GrammarBook) -> None:
    for base in (
        Recognition("repeat", Intent.REPEAT, 0.8, True, engine="pocketsphinx"),
        Recognition("help", Intent.EMERGENCY, 0.8, True, engine="pocketsphinx"),
    ):
        assert fused(base, probs(no=1.0), grammars).recognize(AUDIO, "yes_no") is base


@pytest.mark.parametrize(
    ("base", "segments", "want"),
    [
        # the engine's own wording of the answer is kept
        (Recognition("yeah", Intent.YES, 0.8, True), probs(yes=0.75), ("yeah", Intent.YES, 0.8)),
        (Recognition("yeah", Intent.YES, 0.8, True), probs(yes=0.85), ("yeah", Intent.YES, 0.85)),
        # otherwise the answer is named by its intent
        (
            Recognition("nope", None, 0.4, False, "ambiguous_no"),
            probs(no=0.95),
            ("no", Intent.NO, 0.95),
        ),
        (
            Recognition("", None, 0.0, False, "no_hypothesis"),
            probs(emergency=0.9),
            ("emergency", Intent.EMERGENCY, 0.9),
        ),
    ],
)
def test_a_fused_answer(
    grammars: GrammarBook, base: Recognition, segments: list[float], want: tuple[str, Intent, float]
) -> None:
    base = replace(base, alternatives=ALTERNATIVES)
    got = fused(base, segments, grammars).recognize(AUDIO, "yes_no")
    assert (got.text, got.intent, got.score) == (want[0], want[1], pytest.approx(want[2]))
    assert got.accepted and got.reason == ""
    assert got.alternatives == ALTERNATIVES
    assert got.engine == "pocketsphinx + answer model"
    assert got.audio_seconds == 0.5


def test_fused_hears_an_emergency_in_coaching_but_no_answers(grammars: GrammarBook) -> None:
    nothing = Recognition("", None, 0.0, False, "no_hypothesis")
    got = fused(nothing, probs(emergency=0.9), grammars).recognize(AUDIO, "coaching")
    assert (got.intent, got.text) == (Intent.EMERGENCY, "emergency")
    got = fused(nothing, probs(yes=1.0, no=1.0), grammars).recognize(AUDIO, "coaching")
    assert (got.intent, got.reason, got.score) == (None, "no_hypothesis", 0.0)


# ---------------------------------------------------------------- AnswerModelRecognizer


def alone(segments: list[float], grammars: GrammarBook) -> AnswerModelRecognizer:
    return AnswerModelRecognizer(ScriptedModel(STORED, [segments]), grammars)


def test_the_model_alone_names_itself(grammars: GrammarBook) -> None:
    r = alone(probs(), grammars)
    assert (r.name, r.language) == ("answer-model", "en")


@pytest.mark.parametrize(
    ("segments", "grammar", "want"),
    [
        (probs(yes=0.7), "yes_no", ("yes", Intent.YES, 0.7, "")),
        (probs(no=0.9, yes=0.1), "yes_no", ("no", Intent.NO, 0.9, "")),
        (probs(emergency=0.8, no=0.2), "yes_no", ("emergency", Intent.EMERGENCY, 0.8, "")),
        (probs(emergency=0.8, no=0.2), "coaching", ("emergency", Intent.EMERGENCY, 0.8, "")),
        # without an engine, the engine's tiers (no_if_top, no_if_accepted) never apply
        (probs(no=0.9 - UNDER), "yes_no", ("", None, 0.9 - UNDER, "not_an_answer")),
        (probs(yes=0.7, no=0.9), "yes_no", ("", None, 0.9, "mixed_answer")),
        (probs(yes=0.3, no=0.95), "yes_no", ("", None, 0.95, "doubtful_no")),
        # no engine to be sure of a "yes"
        (probs(yes=0.1), "yes_no", ("", None, 0.0, "not_an_answer")),
        # an answer where none is listened for
        (probs(yes=0.9, no=0.1), "coaching", ("", None, 0.1, "out_of_grammar")),
    ],
)
def test_the_model_alone(
    grammars: GrammarBook,
    segments: list[float],
    grammar: str,
    want: tuple[str, Intent | None, float, str],
) -> None:
    recognizer = alone(segments, grammars)
    got = recognizer.recognize(AUDIO, grammar)
    assert isinstance(recognizer.model, ScriptedModel)
    assert len(recognizer.model.heard) == 1 and recognizer.model.heard[0] is AUDIO
    assert (got.text, got.intent, got.score, got.reason) == (
        want[0],
        want[1],
        pytest.approx(want[2]),
        want[3],
    )
    assert got.accepted is (want[3] == "")
    assert got.engine == "answer-model"
    assert got.audio_seconds == 0.5


def test_the_model_alone_rejects_silence_and_unknown_grammars(grammars: GrammarBook) -> None:
    r = alone(probs(no=1.0), grammars)
    got = r.recognize(np.zeros(16_000, dtype=np.int16), "yes_no")
    assert (got.accepted, got.reason, got.engine) == (False, "silence", "answer-model")
    assert isinstance(r.model, ScriptedModel) and r.model.heard == []
    with pytest.raises(KeyError):
        r.recognize(AUDIO, "no_such_grammar")
