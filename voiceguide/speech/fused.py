"""A grammar engine (PocketSphinx or Vosk) verified by the answer model.

``FusedRecognizer`` implements ``Recognizer``. Every utterance goes to the grammar engine
as before; where the turn's grammar listens for yes/no, the answer model's evidence and
the engine's are combined by ``fusion.fuse`` (a "no" needs both). In any grammar, the
model's "emergency" is heard too, so "I fell" interrupts a question. Speech over the
guide's own voice is left to the engine alone: the model was not trained on that echo.

If the answer model cannot be loaded, ``make_fused`` returns the engine alone: today's
rejection, never anything that accepts more.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from voiceguide.content.models import GrammarBook
from voiceguide.dialogue.intents import Intent
from voiceguide.speech.answer_model import AnswerModel, Scores
from voiceguide.speech.fusion import (
    EngineNo,
    ModelEvidence,
    Thresholds,
    fuse,
    outranked,
    vetoed,
)
from voiceguide.speech.recognizer import Decoding, Recognition, Recognizer, Samples
from voiceguide.speech.rejection import RejectionSettings


def thresholds_of(model: AnswerModel) -> Thresholds:
    return thresholds_from(model.thresholds)


def thresholds_from(t: Mapping[str, float]) -> Thresholds:
    """The rule's thresholds as ``head.json`` stores them."""
    return Thresholds(
        no=t["no"],
        yes=t["yes"],
        emergency=t["emergency"],
        yes_doubt=t["yes_doubt"],
        no_needs=EngineNo(int(t["no_needs"])),
        no_if_accepted=t.get("no_if_accepted", t["no"]),
        no_if_top=t.get("no_if_top", t["no"]),
        # absent (a head picked before the veto): no veto, never more accepted
        silence=t.get("silence", math.inf),
        # absent (a head picked before it): the ways off the route are never outranked
        emergency_exit=t.get("emergency_exit", math.inf),
    )


def evidence(scores: Scores) -> ModelEvidence:
    return ModelEvidence(
        yes=scores.best("yes"),
        no=scores.best("no"),
        emergency=scores.best("emergency"),
        silence=scores.least("silence"),  # noise only where no segment holds speech
    )


def engine_no(result: Recognition, phrases: Mapping[str, Intent]) -> EngineNo:
    """How far the engine's own result supports "no" (``phrases``: the grammar's)."""
    if result.accepted and result.intent is Intent.NO:
        return EngineNo.ACCEPTED
    heard = phrases.get(result.text)
    if heard is Intent.NO:
        return EngineNo.TOP
    if not result.text:
        return EngineNo.NOTHING
    return EngineNo.OTHER_WORD if heard is None else EngineNo.RIVAL


class FusedRecognizer:
    """``engine`` verified by ``model`` (see the module docstring)."""

    def __init__(self, engine: Recognizer, model: AnswerModel, grammars: GrammarBook) -> None:
        self.engine = engine
        self.model = model
        self.thresholds = thresholds_of(model)
        self._intents = {
            name: set(grammars.acoustic_phrase_map(name).values()) for name in grammars.grammars
        }
        self._phrases = {name: grammars.phrase_map(name) for name in grammars.grammars}
        self.missing_words = getattr(engine, "missing_words", {})

    @property
    def name(self) -> str:
        return f"{self.engine.name} + answer model"

    @property
    def language(self) -> str:
        return self.engine.language

    def recognize(
        self, samples: Samples, grammar: str, speaking: frozenset[str] = frozenset()
    ) -> Recognition:
        decoding = Decoding(self.name, len(samples))
        base = self.engine.recognize(samples, grammar, speaking)
        if speaking or base.reason == "silence":
            return base
        ev = evidence(self.model.scores(samples))
        intent, reason, score = combine(
            base, ev, self.thresholds, self._intents[grammar], self._phrases[grammar]
        )
        if intent is None:
            return decoding.result(base.text, None, score, reason, base.alternatives)
        if intent is base.intent and base.accepted and intent not in (Intent.YES, Intent.NO):
            return base  # the engine's own command ("repeat"), untouched
        text = base.text if base.intent is intent else intent.value
        return decoding.result(text, intent, score, "", base.alternatives)


def combine(
    base: Recognition,
    ev: ModelEvidence,
    t: Thresholds,
    intents: set[Intent],
    phrases: Mapping[str, Intent],
) -> tuple[Intent | None, str, float]:
    """The fused decision from the engine's result and the model's evidence: the intent
    (None: unclear), the reason when unclear, and the score."""
    if base.accepted and base.intent not in (Intent.YES, Intent.NO):
        # The engine heard a whole phrase of another intent ("help", "end session",
        # "repeat"): it stands, unless the model is sure of a call for help (it knows the
        # grammars' commands: trained on them as "other") or sure it was noise.
        heard = base.intent
        if heard is not None:
            if Intent.EMERGENCY in intents and outranked(ev, heard, t):
                return Intent.EMERGENCY, "", ev.emergency
            if vetoed(ev, heard, t):
                return None, "noise", ev.silence
        return heard, "", base.score
    if Intent.YES not in intents and Intent.NO not in intents:
        if Intent.EMERGENCY in intents and ev.emergency >= t.emergency:
            return Intent.EMERGENCY, "", ev.emergency
        return (base.intent, "", base.score) if base.accepted else (None, base.reason, 0.0)
    engine_yes = base.accepted and base.intent is Intent.YES
    verdict = fuse(ev, engine_no(base, phrases), engine_yes, t)
    if verdict.intent is Intent.YES:
        return Intent.YES, "", max(ev.yes, base.score if engine_yes else 0.0)
    if verdict.intent is Intent.NO:
        return Intent.NO, "", ev.no
    if verdict.intent is Intent.EMERGENCY:
        return Intent.EMERGENCY, "", ev.emergency
    return None, verdict.reason, ev.no


class AnswerModelRecognizer:
    """The answer model alone (``--engine answer-model``): yes, no and emergency only,
    with the same thresholds but no grammar engine to agree with. For benchmarks."""

    def __init__(self, model: AnswerModel, grammars: GrammarBook) -> None:
        self.model = model
        t = thresholds_of(model)
        self.thresholds = Thresholds(t.no, t.yes, t.emergency, t.yes_doubt, EngineNo.RIVAL, t.no)
        self.settings = RejectionSettings()
        self._intents = {
            name: set(grammars.acoustic_phrase_map(name).values()) for name in grammars.grammars
        }

    @property
    def name(self) -> str:
        return "answer-model"

    @property
    def language(self) -> str:
        return "en"

    def recognize(
        self, samples: Samples, grammar: str, speaking: frozenset[str] = frozenset()
    ) -> Recognition:
        decoding, silent = self.settings.begin(self.name, samples, grammar, self._intents)
        if silent is not None:
            return silent
        ev = evidence(self.model.scores(samples))
        verdict = fuse(ev, EngineNo.NOTHING, False, self.thresholds)
        intent = verdict.intent
        if intent is None or intent not in self._intents[grammar]:
            return decoding.result("", None, ev.no, verdict.reason or "out_of_grammar")
        score = {Intent.YES: ev.yes, Intent.NO: ev.no, Intent.EMERGENCY: ev.emergency}[intent]
        return decoding.result(intent.value, intent, score)
