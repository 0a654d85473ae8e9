"""The fusion rule: how the answer model and the grammar engine together decide an answer.

Pure functions over plain numbers, so the rule can be tested exhaustively. Asymmetric on
purpose (README, "Safety rules"): a wrong "yes" only sends someone to the emergency
route, a wrong "no" can send an injured person into exercises. So:

- "no" needs both: the model's "no" probability at or over its threshold, no segment
  leaning to "yes", and the grammar engine at least at ``no_needs`` (never preferring a
  rival answer). The more the engine itself supports "no", the less the model must:
  ``no`` where the engine merely does not oppose it, ``no_if_top`` where its best decode
  is "no", ``no_if_accepted`` where it accepted "no" itself (each never above the one
  before, so stronger evidence on either side never undoes a "no"). A doubtful "no" is
  unclear, never "no".
- "yes" needs the model's "yes" over its threshold and the engine not hearing "no".
- "emergency" needs the model or the engine; from any grammar, questions included.
- A command the engine accepted by itself ("what" = repeat) stands, unless the model is
  sure it heard no speech at all (``vetoed``); a call for help, a pain word or "stop" is
  never vetoed. And unless the model is sure of a call for help (``outranked``): while
  coaching, the engine took held-out voices' "I fell" for "resume" or "wait", and the
  count went on. The ways off the emergency route ("I'm on the phone", "false alarm")
  are outranked at a threshold of their own, never lower (``emergency_exit``): on the
  route, the engine took held-out voices' "I've fallen" for "on the phone", and the
  guide fell quiet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum

from voiceguide.dialogue.intents import Intent


class EngineNo(IntEnum):
    """How much the grammar engine's own decode supports "no" (ordered: more is more)."""

    #: Its best decode is another answer or command of the grammar ("yes", "repeat").
    RIVAL = 0
    #: Its best decode is a word that is no answer (a garbage word: "go", "oh", "down").
    OTHER_WORD = 1
    #: It decoded nothing usable (no hypothesis), so it neither supports nor opposes.
    NOTHING = 2
    #: Its best decode is a "no" phrase, but it did not accept it (n-best not unanimous).
    TOP = 3
    #: It accepted "no" on its own (the n-best list agrees).
    ACCEPTED = 4


@dataclass(frozen=True)
class ModelEvidence:
    """The answer model's largest class probabilities over an utterance's segments."""

    yes: float
    no: float
    emergency: float
    #: The smallest "silence" probability over the segments: high only where no segment
    #: holds speech (0.0, never a veto, where not measured).
    silence: float = 0.0


@dataclass(frozen=True)
class Thresholds:
    """Picked on dev by ``scripts/train_answer_model.py`` (stored in the head's JSON)."""

    no: float
    yes: float
    emergency: float
    #: Any segment with "yes" at or over this makes a "no" doubtful.
    yes_doubt: float
    no_needs: EngineNo
    #: Where the engine accepted "no" by itself, the model need only reach this (it must
    #: still not contradict it); taken as never above ``no`` nor ``no_if_top``.
    no_if_accepted: float = 1.0
    #: Where the engine's best decode is a "no" phrase (not accepted): taken as never
    #: above ``no``.
    no_if_top: float = 1.0
    #: The model's ``silence`` at or over this vetoes the engine's own command; the
    #: default is never reached (no veto).
    silence: float = math.inf
    #: The model's emergency at or over this (and ``emergency``) outranks a way off the
    #: emergency route the engine accepted; the default is never reached (never outranked).
    emergency_exit: float = math.inf


def no_needed(engine: EngineNo, t: Thresholds) -> float | None:
    """The model's "no" probability needed beside ``engine``'s evidence; None: no "no"
    at all (a rival answer, or less engine support than ``no_needs``). Never rises as
    the engine's support grows."""
    if engine is EngineNo.RIVAL or engine < t.no_needs:
        return None
    needed = t.no
    if engine >= EngineNo.TOP:
        needed = min(needed, t.no_if_top)
    if engine is EngineNo.ACCEPTED:
        needed = min(needed, t.no_if_accepted)
    return needed


@dataclass(frozen=True)
class Verdict:
    intent: Intent | None
    #: Why it is unclear ("" when an answer was accepted).
    reason: str


def accepts_no(model: ModelEvidence, engine: EngineNo, t: Thresholds) -> bool:
    """The one way to a "no": strong model evidence that nothing contradicts, and the
    grammar engine not preferring a rival word."""
    needed = no_needed(engine, t)
    return needed is not None and model.no >= needed and model.yes < t.yes_doubt


#: Never vetoed: a wrong one is the safe error (README, "Safety rules": calls for help
#: always work; pain words and "stop" halt the count at once).
NEVER_VETOED = frozenset({Intent.EMERGENCY, Intent.PAIN, Intent.STOP})


def vetoed(model: ModelEvidence, intent: Intent, t: Thresholds) -> bool:
    """Whether the engine's accepted ``intent`` is noise: every segment the model's
    "silence" at or over ``t.silence``, and ``intent`` not one of ``NEVER_VETOED``."""
    return intent not in NEVER_VETOED and model.silence >= t.silence


#: The ways off the emergency route ("I'm on the phone", "false alarm"): outranked only at
#: ``emergency_exit``, or a person who is fine, or on the phone, could seldom leave the
#: advice or quiet its reminders.
WAYS_OFF = frozenset({Intent.FALSE_ALARM, Intent.QUIET})


def exit_needs(t: Thresholds) -> float:
    """The model's call for help needed to outrank a way off the route: never less than
    for any other command."""
    return max(t.emergency, t.emergency_exit)


def outranked(model: ModelEvidence, intent: Intent, t: Thresholds) -> bool:
    """Whether the model's call for help outranks the engine's accepted ``intent``: the
    model at or over ``t.emergency`` (and ``t.emergency_exit`` for one of ``WAYS_OFF``);
    never a call for help itself. A wrong one is the safe error (the emergency advice); a
    missed one lets the count go on, or quiets the advice for someone who has fallen."""
    if intent is Intent.EMERGENCY:
        return False
    needed = exit_needs(t) if intent in WAYS_OFF else t.emergency
    return model.emergency >= needed


def fuse(model: ModelEvidence, engine: EngineNo, engine_yes: bool, t: Thresholds) -> Verdict:
    """The answer to a yes/no question (``engine_yes``: the engine's best decode is "yes")."""
    if model.emergency >= t.emergency:
        return Verdict(Intent.EMERGENCY, "")
    wants_yes = model.yes >= t.yes
    wants_no = model.no >= t.no
    if wants_yes and wants_no:
        return Verdict(None, "mixed_answer")
    if wants_yes:
        if engine >= EngineNo.TOP:  # the engine heard "no": conflicting, so ask again
            return Verdict(None, "models_disagree")
        return Verdict(Intent.YES, "")
    if accepts_no(model, engine, t):
        return Verdict(Intent.NO, "")
    if wants_no:
        return Verdict(None, "doubtful_no")
    if engine_yes and model.no < t.yes_doubt:
        # The engine is sure of "yes" and the model does not lean to "no": a wrong yes
        # is the safe error, so it stands.
        return Verdict(Intent.YES, "")
    return Verdict(None, "not_an_answer")
