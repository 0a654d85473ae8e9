"""Typed events in and out of the dialogue.

The dialogue is a pure function of (state, input event, now) -> output events. Runtimes
turn microphones, keyboards and clocks into input events, and output events into speech,
captions, listening and log lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from voiceguide.dialogue.intents import Answer, Intent

# ---------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class Heard:
    """Something the user said or typed.

    ``intent`` is set when a grammar engine already decided it; otherwise the dialogue
    reads ``text`` itself. ``confidence`` is the recognizer's calibrated score.
    """

    text: str
    intent: Intent | None = None
    confidence: float = 1.0
    alternatives: tuple[str, ...] = ()
    source: str = "text"
    type: ClassVar[str] = "heard"


@dataclass(frozen=True, slots=True)
class NoMatch:
    """Speech was heard but rejected (out of grammar, noise, low score)."""

    reason: str = ""
    text: str = ""
    source: str = "asr"
    type: ClassVar[str] = "no_match"


@dataclass(frozen=True, slots=True)
class Silence:
    """The user said nothing within the listening window."""

    type: ClassVar[str] = "silence"


@dataclass(frozen=True, slots=True)
class Tick:
    """Time passed; lets scheduled counts and answer deadlines fire."""

    type: ClassVar[str] = "tick"


@dataclass(frozen=True, slots=True)
class InputEnded:
    """The input closed (end of a pipe or script)."""

    type: ClassVar[str] = "input_ended"


InputEvent = Heard | NoMatch | Silence | Tick | InputEnded

# ---------------------------------------------------------------- outputs


class RouteTo(StrEnum):
    EMERGENCY = "emergency"
    #: Back from the emergency route ("false alarm"): the whole screening again.
    SCREENING = "screening"
    COACHING = "coaching"
    END = "end"


@dataclass(frozen=True, slots=True)
class Speak:
    """Say a sentence. ``prompt`` is the prompt id or ``exercise:<id>:...`` for cues."""

    prompt: str
    text: str
    type: ClassVar[str] = "prompt"


@dataclass(frozen=True, slots=True)
class Count:
    """Say one count word at its scheduled instant ``scheduled`` (on the dialogue clock)."""

    exercise: str
    n: int
    text: str
    scheduled: float
    type: ClassVar[str] = "count"


@dataclass(frozen=True, slots=True)
class HaltSpeech:
    """Cut whatever is being spoken now (barge-in, pain, emergency)."""

    type: ClassVar[str] = "halt_speech"


@dataclass(frozen=True, slots=True)
class Listen:
    """Listen with a named grammar until told otherwise."""

    grammar: str
    type: ClassVar[str] = "listen"


@dataclass(frozen=True, slots=True)
class AnswerGiven:
    question: str
    value: Answer
    type: ClassVar[str] = "answer"


class Cause(StrEnum):
    """What sent the user to the emergency route, as a kind (``Route.reason`` says it
    in words, with the question's name): for counting without reading those words."""

    YES = "yes"
    #: Repeated silence or unclear answers to one question.
    UNCLEAR = "unclear"
    EMERGENCY_WORD = "emergency word"


@dataclass(frozen=True, slots=True)
class Route:
    to: RouteTo
    reason: str
    #: Set on every route to the emergency advice; None on the others.
    cause: Cause | None = None
    type: ClassVar[str] = "route"


@dataclass(frozen=True, slots=True)
class CommandApplied:
    name: Intent
    type: ClassVar[str] = "command"


@dataclass(frozen=True, slots=True)
class VoiceChange:
    """Speech rate multiplier and output volume in [0, 1]."""

    rate: float
    volume: float
    type: ClassVar[str] = "voice"


@dataclass(frozen=True, slots=True)
class WakeAt:
    """Call back with ``Tick`` at this instant (or earlier, on input)."""

    at: float
    type: ClassVar[str] = "wake"


@dataclass(frozen=True, slots=True)
class End:
    reason: str
    type: ClassVar[str] = "end"


OutputEvent = (
    Speak
    | Count
    | HaltSpeech
    | Listen
    | AnswerGiven
    | Route
    | CommandApplied
    | VoiceChange
    | WakeAt
    | End
)
