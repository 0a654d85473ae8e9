"""The session loop (``runtime/session.py``): it sleeps until the next input or the
dialogue's next wake-up, and only then."""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.helpers import SilentSink, content
from voiceguide.config import Settings
from voiceguide.dialogue.clock import FakeClock
from voiceguide.dialogue.controller import Dialogue, Phase
from voiceguide.dialogue.events import Heard, InputEnded, InputEvent
from voiceguide.runtime.session import Session


@dataclass
class User:
    """Says "no" to every question and "ready" at each setup, lets two counts pass, then
    says "pause"; records every wait the session asks for after that."""

    clock: FakeClock
    dialogue: Dialogue
    counted: int = 0
    paused_waits: list[float | None] = field(default_factory=list)

    def get(self, timeout: float | None) -> InputEvent | None:
        phase = self.dialogue.phase
        if phase is Phase.PAUSED:
            self.paused_waits.append(timeout)
            if timeout is None or len(self.paused_waits) > 50:
                return InputEnded()  # the spin is measured by the waits recorded
            self.clock.advance(timeout)
            return None
        self.clock.advance(0.5)
        if phase is Phase.SCREENING:
            return Heard("no")
        if phase is Phase.SETUP:
            return Heard("ready")
        if phase is Phase.COACHING and self.counted >= 2:
            return Heard("pause")
        if timeout is not None:
            self.clock.advance(timeout)
        self.counted += phase is Phase.COACHING
        return None


def test_a_paused_session_waits_for_input_instead_of_spinning() -> None:
    clock = FakeClock()
    dialogue = Dialogue(content(), Settings(seed=1))
    user = User(clock, dialogue)
    end = Session(dialogue, clock, user, SilentSink()).run()
    assert end.reason == "input ended"
    # Paused, the dialogue has nothing scheduled: the session must wait for the user
    # ("resume"), not wake at once again and again at a wake-up time already past.
    assert user.paused_waits, "never paused"
    assert user.paused_waits[-1] is None, user.paused_waits[:10]
    assert len(user.paused_waits) <= 2, user.paused_waits[:10]
