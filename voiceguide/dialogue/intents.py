"""The closed set of meanings a user's utterance can carry.

Words live in ``grammars/<lang>/``; code only ever reasons about these names.
"""

from __future__ import annotations

from enum import StrEnum


class Intent(StrEnum):
    YES = "yes"
    NO = "no"
    EMERGENCY = "emergency"
    PAIN = "pain"
    PAUSE = "pause"
    RESUME = "resume"
    REPEAT = "repeat"
    SKIP = "skip"
    STOP = "stop"
    SLOWER = "slower"
    FASTER = "faster"
    LOUDER = "louder"
    QUIETER = "quieter"
    HELP = "help"
    END = "end"
    #: On the emergency route: "I called", "quiet" (the reminders stop).
    QUIET = "quiet"
    #: On the emergency route: "false alarm", "I'm okay" (the whole screening again).
    FALSE_ALARM = "false_alarm"


class Answer(StrEnum):
    """What a yes/no question got back. ``UNCLEAR`` is never silently turned into ``NO``."""

    YES = "yes"
    NO = "no"
    UNCLEAR = "unclear"


#: Intents that every grammar must contain: they must work from any state.
ALWAYS_ON: frozenset[Intent] = frozenset({Intent.EMERGENCY})
