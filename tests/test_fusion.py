"""The fusion rule's asymmetry: a "no" only on strong, agreeing evidence."""

from __future__ import annotations

import itertools
import math

from hypothesis import given
from hypothesis import strategies as st

from voiceguide.dialogue.intents import Intent
from voiceguide.speech.fused import combine, engine_no
from voiceguide.speech.fusion import EngineNo, ModelEvidence, Thresholds, accepts_no, fuse
from voiceguide.speech.recognizer import Recognition

prob = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
engines = st.sampled_from(list(EngineNo))
thresholds = st.builds(
    Thresholds,
    no=st.floats(min_value=0.5, max_value=0.999),
    yes=st.floats(min_value=0.3, max_value=0.999),
    emergency=st.floats(min_value=0.3, max_value=0.999),
    yes_doubt=st.floats(min_value=0.05, max_value=0.5),
    no_needs=st.sampled_from(list(EngineNo)),
    no_if_accepted=st.floats(min_value=0.05, max_value=1.0),
    no_if_top=st.floats(min_value=0.05, max_value=1.0),
    emergency_exit=st.one_of(st.just(math.inf), st.floats(min_value=0.3, max_value=1.0)),
)
evidence = st.builds(ModelEvidence, yes=prob, no=prob, emergency=prob)

PHRASES = {"no": Intent.NO, "nope": Intent.NO, "yes": Intent.YES, "repeat": Intent.REPEAT}
YES_NO = {Intent.YES, Intent.NO, Intent.EMERGENCY, Intent.REPEAT}


@given(evidence, engines, st.booleans(), thresholds)
def test_no_only_when_both_agree(m: ModelEvidence, e: EngineNo, eyes: bool, t: Thresholds) -> None:
    if fuse(m, e, eyes, t).intent is Intent.NO:
        needed = {
            EngineNo.ACCEPTED: min(t.no, t.no_if_top, t.no_if_accepted),
            EngineNo.TOP: min(t.no, t.no_if_top),
        }.get(e, t.no)
        assert m.no >= needed, "the model must back the no"
        assert e >= t.no_needs and e is not EngineNo.RIVAL, (
            "the engine must not hear another answer"
        )
        assert m.yes < t.yes_doubt, "no segment may lean to yes"
        assert m.emergency < t.emergency


@given(evidence, engines, st.booleans(), thresholds, prob, prob, engines)
def test_weaker_evidence_never_turns_a_rejection_into_a_no(
    m: ModelEvidence,
    e: EngineNo,
    eyes: bool,
    t: Thresholds,
    less_no: float,
    more_yes: float,
    e2: EngineNo,
) -> None:
    weaker = ModelEvidence(
        yes=m.yes + (1 - m.yes) * more_yes, no=m.no * less_no, emergency=m.emergency
    )
    weaker_engine = min(e, e2)
    if fuse(m, e, eyes, t).intent is not Intent.NO:
        assert fuse(weaker, e, eyes, t).intent is not Intent.NO
        assert fuse(m, weaker_engine, eyes, t).intent is not Intent.NO
        assert fuse(weaker, weaker_engine, eyes, t).intent is not Intent.NO
    assert accepts_no(weaker, weaker_engine, t) <= accepts_no(m, e, t)


@given(evidence, thresholds, st.booleans())
def test_a_rival_word_always_blocks_no(m: ModelEvidence, t: Thresholds, eyes: bool) -> None:
    assert fuse(m, EngineNo.RIVAL, eyes, t).intent is not Intent.NO


@given(prob, prob, prob, thresholds)
def test_the_engine_alone_never_gives_no(yes: float, no: float, em: float, t: Thresholds) -> None:
    """PocketSphinx accepting "no" is not enough when the model does not back it."""
    least = min(t.no, t.no_if_top, t.no_if_accepted)
    m = ModelEvidence(yes=yes, no=min(no, least * 0.999), emergency=em)
    base = Recognition("no", Intent.NO, 1.0, True)
    assert engine_no(base, PHRASES) is EngineNo.ACCEPTED
    assert combine(base, m, t, YES_NO, PHRASES)[0] is not Intent.NO


@given(evidence, thresholds)
def test_engine_results_rank_as_evidence_for_no(m: ModelEvidence, t: Thresholds) -> None:
    """Another answer ("yes", "repeat") always blocks a "no"; a garbage word ("go")
    supports it less than a rejected "no", which supports it less than an accepted one."""
    rival = Recognition("yes", None, 0.5, False, "low_score")
    garbage = Recognition("go", None, 0.0, False, "out_of_grammar")
    nothing = Recognition("", None, 0.0, False, "no_hypothesis")
    ambiguous = Recognition("no", None, 0.5, False, "ambiguous_no")
    accepted = Recognition("no", Intent.NO, 1.0, True)
    ranked = [rival, garbage, nothing, ambiguous, accepted]
    assert [engine_no(r, PHRASES) for r in ranked] == list(EngineNo)

    def is_no(r: Recognition) -> bool:
        return combine(r, m, t, YES_NO, PHRASES)[0] is Intent.NO

    assert not is_no(rival)
    for weaker, stronger in itertools.pairwise(ranked):
        assert is_no(weaker) <= is_no(stronger)
    if is_no(garbage):
        assert t.no_needs <= EngineNo.OTHER_WORD


@given(evidence, engines, thresholds)
def test_a_sure_yes_is_never_a_no(m: ModelEvidence, e: EngineNo, t: Thresholds) -> None:
    sure_yes = ModelEvidence(yes=max(m.yes, t.yes, t.yes_doubt), no=m.no, emergency=m.emergency)
    assert fuse(sure_yes, e, False, t).intent is not Intent.NO


@given(evidence, engines, st.booleans(), thresholds)
def test_emergency_wins_in_every_grammar(
    m: ModelEvidence, e: EngineNo, eyes: bool, t: Thresholds
) -> None:
    if m.emergency >= t.emergency:
        assert fuse(m, e, eyes, t).intent is Intent.EMERGENCY
        base = Recognition("", None, 0.0, False, "no_hypothesis")
        coaching = {Intent.EMERGENCY, Intent.PAUSE, Intent.STOP}
        assert combine(base, m, t, coaching, {})[0] is Intent.EMERGENCY


def test_examples() -> None:
    t = Thresholds(no=0.9, yes=0.6, emergency=0.8, yes_doubt=0.3, no_needs=EngineNo.NOTHING,
                   no_if_accepted=0.4)  # fmt: skip
    sure_no = ModelEvidence(yes=0.01, no=0.97, emergency=0.0)
    assert fuse(sure_no, EngineNo.ACCEPTED, False, t).intent is Intent.NO
    assert fuse(sure_no, EngineNo.NOTHING, False, t).intent is Intent.NO
    assert fuse(sure_no, EngineNo.RIVAL, False, t).reason == "doubtful_no"
    doubt = ModelEvidence(yes=0.01, no=0.85, emergency=0.0)
    assert fuse(doubt, EngineNo.TOP, False, t).intent is None
    assert fuse(doubt, EngineNo.ACCEPTED, False, t).intent is Intent.NO
    assert fuse(ModelEvidence(0.01, 0.3, 0.0), EngineNo.ACCEPTED, False, t).intent is None
    mixed = ModelEvidence(yes=0.7, no=0.95, emergency=0.0)
    assert fuse(mixed, EngineNo.ACCEPTED, False, t).reason == "mixed_answer"
    assert fuse(ModelEvidence(0.9, 0.0, 0.0), EngineNo.RIVAL, False, t).intent is Intent.YES
    assert fuse(ModelEvidence(0.9, 0.0, 0.0), EngineNo.TOP, False, t).intent is None


def test_tiers_ask_less_of_the_model_as_the_engine_backs_no_more() -> None:
    t = Thresholds(no=0.95, yes=0.6, emergency=0.8, yes_doubt=0.3, no_needs=EngineNo.OTHER_WORD,
                   no_if_accepted=0.3, no_if_top=0.6)  # fmt: skip
    for p, heard in [
        (0.96, {EngineNo.OTHER_WORD, EngineNo.NOTHING, EngineNo.TOP, EngineNo.ACCEPTED}),
        (0.7, {EngineNo.TOP, EngineNo.ACCEPTED}),
        (0.4, {EngineNo.ACCEPTED}),
        (0.2, set()),
    ]:
        m = ModelEvidence(yes=0.01, no=p, emergency=0.0)
        got = {e for e in EngineNo if fuse(m, e, False, t).intent is Intent.NO}
        assert got == heard, p
    # A "yes"-leaning segment makes any "no" doubtful, whatever the engine heard.
    leaning = ModelEvidence(yes=0.35, no=0.99, emergency=0.0)
    assert fuse(leaning, EngineNo.ACCEPTED, False, t).intent is not Intent.NO
