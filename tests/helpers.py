"""Small helpers for driving the pure dialogue in tests."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from voiceguide.config import Settings
from voiceguide.content import Content, load_content
from voiceguide.dialogue.controller import Dialogue
from voiceguide.dialogue.events import InputEvent, OutputEvent, WakeAt

if TYPE_CHECKING:
    from voiceguide.speech.fused import FusedRecognizer


@cache
def content() -> Content:
    return load_content("en")


@cache
def fused_recognizer() -> FusedRecognizer:
    """PocketSphinx verified by the answer model, as `auto` runs English. Both are core
    installs (scripts/setup): a missing one fails here rather than skipping."""
    from voiceguide.speech.fused import FusedRecognizer
    from voiceguide.speech.select import make_recognizer

    recognizer = make_recognizer("fused", content().grammars)
    assert isinstance(recognizer, FusedRecognizer), recognizer.name
    return recognizer


class Driver:
    """A dialogue plus a fake clock and a record of everything it said."""

    def __init__(self, seed: int = 0, **settings: object) -> None:
        self.dialogue = Dialogue(content(), Settings(seed=seed, **settings))  # type: ignore[arg-type]
        self.now = 0.0
        self.out: list[OutputEvent] = list(self.dialogue.start(self.now))

    def send(self, event: InputEvent, dt: float = 0.5) -> list[OutputEvent]:
        self.now += dt
        got = self.dialogue.handle(event, self.now)
        self.out += got
        return got

    def wake(self) -> float | None:
        wakes = [e.at for e in self.out if isinstance(e, WakeAt)]
        return wakes[-1] if wakes else None

    def run_until(self, t: float) -> list[OutputEvent]:
        """Deliver ticks at every wake-up instant up to ``t``, as a runtime would."""
        from voiceguide.dialogue.events import Tick

        got: list[OutputEvent] = []
        while True:
            w = self.wake()
            if w is None or w > t or self.dialogue.phase.value == "ended":
                break
            self.now = max(self.now, w)
            step = self.dialogue.handle(Tick(), self.now)
            self.out += step
            got += step
            if not step:
                break
        self.now = max(self.now, t)
        return got


class SilentSink:
    """An output sink for ``Session`` that plays nothing."""

    def speak(self, event: object) -> None: ...
    def count(self, event: object) -> None: ...
    def halt(self) -> None: ...
    def listen(self, grammar: str) -> None: ...
    def voice(self, event: object) -> None: ...
    def finish(self) -> None: ...
