"""The noise veto (issue 7, reject_silence): a command the grammar engine accepted by
itself is turned into an unclear "noise" where the answer model is sure no segment held
speech; a call for help, a pain word or "stop" never is, and no answer is ever made.

Edges in the style of ``test_fusion_mutants.py`` (at the threshold, just under it), a
property over random evidence, and the recognizer with scripted engine and model.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.test_fusion import prob, thresholds
from tests.test_fusion_mutants import (
    COACHING,
    PHRASES,
    STORED,
    UNDER,
    YES_NO,
    ScriptedEngine,
    ScriptedModel,
    T,
)
from tests.voicefakes import buzz
from voiceguide.content import load_grammars
from voiceguide.content.models import GrammarBook
from voiceguide.dialogue.intents import Intent
from voiceguide.speech.answer_model import Scores
from voiceguide.speech.fused import FusedRecognizer, combine, evidence, thresholds_of
from voiceguide.speech.fusion import NEVER_VETOED, ModelEvidence, Thresholds, vetoed
from voiceguide.speech.recognizer import Recognition

#: T with the veto on.
TV = replace(T, silence=0.6)
NOISE = ModelEvidence(yes=0.0, no=0.0, emergency=0.0, silence=0.6)
SPEECH = replace(NOISE, silence=0.6 - UNDER)
COMMANDS = [i for i in Intent if i not in NEVER_VETOED and i not in (Intent.YES, Intent.NO)]


def accepted(intent: Intent, text: str = "") -> Recognition:
    return Recognition(text or intent.value, intent, 0.77, True)


# ---------------------------------------------------------------- fusion.vetoed


def test_a_command_is_vetoed_at_the_threshold_not_under_it() -> None:
    assert vetoed(NOISE, Intent.REPEAT, TV)
    assert not vetoed(SPEECH, Intent.REPEAT, TV)


@pytest.mark.parametrize("intent", sorted(NEVER_VETOED))
def test_calls_for_help_pain_and_stop_are_never_vetoed(intent: Intent) -> None:
    assert not vetoed(replace(NOISE, silence=1.0), intent, replace(TV, silence=0.0))


def test_what_is_never_vetoed_is_the_safety_words() -> None:
    assert {Intent.EMERGENCY, Intent.PAIN, Intent.STOP} == NEVER_VETOED
    assert all(vetoed(NOISE, i, TV) for i in COMMANDS)


def test_without_a_silence_threshold_nothing_is_vetoed() -> None:
    assert math.isinf(T.silence) and T.silence > 0
    assert not vetoed(replace(NOISE, silence=1.0), Intent.REPEAT, T)
    assert ModelEvidence(yes=0.0, no=0.0, emergency=0.0).silence == 0.0
    assert not vetoed(ModelEvidence(0.0, 0.0, 0.0), Intent.REPEAT, replace(TV, silence=UNDER))


def test_the_threshold_is_read_from_the_head_and_absent_means_off() -> None:
    assert thresholds_of(ScriptedModel(STORED, [])).silence == math.inf
    assert thresholds_of(ScriptedModel({**STORED, "silence": 0.6}, [])) == TV


def test_silence_evidence_is_the_least_over_the_segments() -> None:
    """Noise only where every segment is: a word in one segment keeps it speech."""
    scores = Scores(np.array([[0.1, 0.0, 0.0, 0.1, 0.8], [0.0, 0.0, 0.0, 0.7, 0.3]]))
    ev = evidence(scores)
    assert ev.silence == pytest.approx(0.3)
    assert (ev.yes, ev.no, ev.emergency) == pytest.approx((0.1, 0.0, 0.0))


# ---------------------------------------------------------------- fused.combine


def test_combine_vetoes_the_engines_command_on_noise() -> None:
    what = accepted(Intent.REPEAT, "what")
    assert combine(what, NOISE, TV, YES_NO, PHRASES) == (None, "noise", 0.6)
    assert combine(what, SPEECH, TV, YES_NO, PHRASES) == (Intent.REPEAT, "", 0.77)
    pause = accepted(Intent.PAUSE)
    assert combine(pause, NOISE, TV, COACHING, {}) == (None, "noise", 0.6)
    assert combine(pause, NOISE, T, COACHING, {}) == (Intent.PAUSE, "", 0.77)


@pytest.mark.parametrize("intent", sorted(NEVER_VETOED))
def test_combine_never_vetoes_help_pain_or_stop(intent: Intent) -> None:
    sure_noise = replace(NOISE, silence=1.0)
    for grammar in (YES_NO, COACHING):
        assert combine(accepted(intent), sure_noise, TV, grammar, {}) == (intent, "", 0.77)


def test_answers_are_left_to_the_fusion_rule() -> None:
    """An engine "yes" on noise is not vetoed (a wrong "yes" is the safe error), nor does
    the veto make or unmake a "no"."""
    sure_noise = replace(NOISE, silence=1.0)
    yes = accepted(Intent.YES)
    assert combine(yes, sure_noise, TV, YES_NO, PHRASES) == (Intent.YES, "", 0.77)
    no = accepted(Intent.NO)
    assert combine(no, replace(sure_noise, no=0.5), TV, YES_NO, PHRASES) == (Intent.NO, "", 0.5)
    assert combine(no, sure_noise, TV, YES_NO, PHRASES) == (None, "not_an_answer", 0.0)


# ---------------------------------------------------------------- the property

evidences = st.builds(ModelEvidence, yes=prob, no=prob, emergency=prob, silence=prob)
#: test_fusion's thresholds, with the veto at any level.
with_veto = st.tuples(thresholds, prob).map(lambda ts: replace(ts[0], silence=ts[1]))
results = st.builds(
    Recognition,
    text=st.sampled_from(["", "what", "no", "yes", "help", "go", "pause"]),
    intent=st.none() | st.sampled_from(list(Intent)),
    score=prob,
    accepted=st.booleans(),
    reason=st.sampled_from(["", "out_of_grammar", "no_hypothesis", "low_score"]),
)
grammars = st.sampled_from([YES_NO, COACHING, {Intent.EMERGENCY, Intent.PAIN, Intent.STOP}])


@given(results, evidences, with_veto, grammars)
def test_the_veto_only_ever_turns_a_command_into_unclear(
    base: Recognition, ev: ModelEvidence, t: Thresholds, intents: set[Intent]
) -> None:
    """Against the same decision without the veto: a call for help is never removed, no
    "yes" or "no" is ever made or removed, and what changes is only an accepted command
    of the engine's, now unclear with the reason "noise"."""
    on = combine(base, ev, t, intents, PHRASES)
    off = combine(base, ev, replace(t, silence=math.inf), intents, PHRASES)
    if on != off:
        assert off[0] is base.intent and base.accepted
        assert off[0] not in (*NEVER_VETOED, Intent.YES, Intent.NO, None)
        assert on == (None, "noise", ev.silence)
        assert ev.silence >= t.silence
    assert (on[0] is Intent.EMERGENCY) == (off[0] is Intent.EMERGENCY)
    assert (on[0] in (Intent.YES, Intent.NO)) == (off[0] in (Intent.YES, Intent.NO))


# ---------------------------------------------------------------- FusedRecognizer


@pytest.fixture(scope="module")
def book() -> GrammarBook:
    return load_grammars("en")


def test_fused_returns_the_vetoed_command_as_a_rejection(book: GrammarBook) -> None:
    what = Recognition("what", Intent.REPEAT, 0.9, True, "", ("what", "go"), "pocketsphinx")
    model = ScriptedModel({**STORED, "silence": 0.6}, [[0, 0, 0, 0.2, 0.8], [0, 0, 0, 0.4, 0.6]])
    got = FusedRecognizer(ScriptedEngine(what), model, book).recognize(buzz(0.5), "yes_no")
    assert (got.text, got.intent, got.accepted, got.reason) == ("what", None, False, "noise")
    assert got.score == pytest.approx(0.6)
    assert got.alternatives == ("what", "go")
    assert got.engine == "pocketsphinx + answer model"
    # one segment that is not noise (a word in it): the command stands, untouched
    model.segments = [[0, 0, 0, 0.2, 0.8], [0, 0, 0, 0.41, 0.59]]
    assert FusedRecognizer(ScriptedEngine(what), model, book).recognize(buzz(0.5), "yes_no") is what
