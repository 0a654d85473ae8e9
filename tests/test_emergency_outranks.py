"""A call for help the answer model is sure of outranks a command the grammar engine
accepted (README, "Safety rules": emergency words work everywhere).

While coaching, PocketSphinx took held-out voices' "I fell" and "I can't move" for
"resume", "what" or "wait" (`bench emergency`: coaching recall 0.59 against 0.82 during
questions), and the engine's command stood: the count went on. The ways off the
emergency route ("false alarm", "I've called") are never outranked, or a person who is
fine could not leave the advice.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.helpers import fused_recognizer
from tests.speechgen import speak
from tests.test_fusion import evidence, thresholds
from voiceguide.dialogue.intents import Intent
from voiceguide.speech.fused import combine
from voiceguide.speech.fusion import EngineNo, ModelEvidence, Thresholds, outranked
from voiceguide.speech.recognizer import Recognition

COMMANDS = [i for i in Intent if i not in (Intent.YES, Intent.NO)]
EVERY_INTENT = set(Intent)
WAYS_OFF = {Intent.FALSE_ALARM, Intent.QUIET}
T = Thresholds(no=0.9, yes=0.7, emergency=0.8, yes_doubt=0.3, no_needs=EngineNo.OTHER_WORD)
UNDER = 1e-6


def accepted(intent: Intent) -> Recognition:
    return Recognition(intent.value, intent, 1.0, True, "")


def sure(emergency: float) -> ModelEvidence:
    return ModelEvidence(yes=0.0, no=0.0, emergency=emergency)


@given(evidence, thresholds, st.sampled_from(COMMANDS))
def test_a_sure_call_for_help_outranks_every_command_but_the_ways_off(
    m: ModelEvidence, t: Thresholds, intent: Intent
) -> None:
    got = combine(accepted(intent), m, t, EVERY_INTENT, {})[0]
    if intent is Intent.EMERGENCY or (m.emergency >= t.emergency and intent not in WAYS_OFF):
        assert got is Intent.EMERGENCY
    else:
        assert got is intent, "below the threshold, or a way off the route: it stands"


@given(evidence, thresholds, st.sampled_from(COMMANDS))
def test_outranking_only_ever_gives_emergency(
    m: ModelEvidence, t: Thresholds, intent: Intent
) -> None:
    """It never makes an answer, never removes a call for help."""
    if outranked(m, intent, t):
        assert intent is not Intent.EMERGENCY and intent not in WAYS_OFF
        assert m.emergency >= t.emergency
        assert combine(accepted(intent), m, t, EVERY_INTENT, {})[0] is Intent.EMERGENCY


def test_the_edge_of_the_threshold() -> None:
    assert combine(accepted(Intent.RESUME), sure(0.8), T, EVERY_INTENT, {}) == (
        Intent.EMERGENCY,
        "",
        0.8,
    )
    assert combine(accepted(Intent.RESUME), sure(0.8 - UNDER), T, EVERY_INTENT, {}) == (
        Intent.RESUME,
        "",
        1.0,
    )
    for way_off in WAYS_OFF:
        assert combine(accepted(way_off), sure(1.0), T, EVERY_INTENT, {})[0] is way_off
    # A grammar that does not listen for calls for help is left alone.
    assert combine(accepted(Intent.RESUME), sure(1.0), T, {Intent.RESUME}, {})[0] is Intent.RESUME


#: Held-out voices' calls for help that PocketSphinx alone took for a coaching command
#: ("ow", "carry on", "hold on", "what", "stop"), each said whole with a little silence
#: around it. Where the model is unsure (three of these), the engine's command stands.
MISTAKEN = [
    ("i fell", "en-us-nyc+travis", 125, 25),
    ("i fell", "en-gb-x-gbcwmd+female1", 125, 80),
    ("i fell", "en-gb-x-gbcwmd+croak", 125, 80),
    ("i can't move", "en-gb-x-gbcwmd+croak", 125, 25),
    ("i can't move", "en-gb-x-gbcwmd+female1", 125, 25),
    ("help me", "en-us-nyc+grandma", 125, 25),
    ("call for help", "en-gb-x-gbcwmd+croak", 125, 80),
    ("call for help", "en-gb-x-gbcwmd+female1", 125, 25),
]


def test_calls_for_help_the_engine_takes_for_commands_are_heard_while_coaching() -> None:
    """Through the real engines: where PocketSphinx alone hears a coaching command and
    the model is sure of a call for help, the fused recognizer hears the call for help."""
    fused = fused_recognizer()
    outranking = 0
    for case in MISTAKEN:
        audio = speak(*case)
        engine = fused.engine.recognize(audio, "coaching")
        sure = fused.model.scores(audio).best("emergency") >= fused.thresholds.emergency
        if engine.accepted and engine.intent is not Intent.EMERGENCY and sure:
            outranking += 1
            assert fused.recognize(audio, "coaching").intent is Intent.EMERGENCY, case
    assert outranking >= 4, "the cases no longer show the engine mistaking a call for help"
