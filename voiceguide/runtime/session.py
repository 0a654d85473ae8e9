"""Drives a pure ``Dialogue`` with a clock, an input source and an output sink.

The same loop serves the keyboard, the microphone and the simulated demo user: only the
source and sink differ. The loop sleeps until the next input or the dialogue's next
``WakeAt``, whichever comes first, so counts fire on their schedule.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from voiceguide.dialogue.clock import Clock
from voiceguide.dialogue.controller import Dialogue
from voiceguide.dialogue.events import (
    Count,
    End,
    HaltSpeech,
    Heard,
    InputEvent,
    Listen,
    NoMatch,
    OutputEvent,
    Silence,
    Speak,
    Tick,
    VoiceChange,
    WakeAt,
)
from voiceguide.runtime.log import EventLog


class InputSource(Protocol):
    def get(self, timeout: float | None) -> InputEvent | None:
        """The next input event, or None if ``timeout`` real seconds pass first."""
        ...


class OutputSink(Protocol):
    def speak(self, event: Speak) -> None: ...
    def count(self, event: Count) -> None: ...
    def halt(self) -> None: ...
    def listen(self, grammar: str) -> None: ...
    def voice(self, event: VoiceChange) -> None: ...
    def finish(self) -> None:
        """Let queued speech play out before the session closes."""
        ...


@runtime_checkable
class TimesSpeech(Protocol):
    """An output sink that knows how long a sentence really takes to say (a synthesizer
    renders it), so the dialogue schedules from that rather than a word-count guess."""

    def speech_seconds(self, text: str, rate: float = 1.0) -> float: ...


class Session:
    def __init__(
        self,
        dialogue: Dialogue,
        clock: Clock,
        inputs: InputSource,
        outputs: OutputSink,
        log: EventLog | None = None,
        time_scale: float = 1.0,
    ) -> None:
        self.dialogue = dialogue
        self.clock = clock
        self.inputs = inputs
        self.outputs = outputs
        self.log = log
        self.time_scale = time_scale
        self.wake: float | None = None
        self.end: End | None = None
        self.grammar: str | None = None
        if isinstance(outputs, TimesSpeech):
            dialogue.speech_seconds = outputs.speech_seconds

    def run(self) -> End:
        self._apply(self.dialogue.start(self.clock.now()))
        while self.end is None:
            timeout = None
            if self.wake is not None:
                timeout = max(0.0, (self.wake - self.clock.now()) / self.time_scale)
            event = self.inputs.get(timeout)
            now = self.clock.now()
            if event is None:
                event = Tick()
            else:
                self._log_input(event, now)
            # Every answer from the dialogue carries its next wake-up, if it has one: none
            # (paused, waiting for "resume") means wait for input. A wake-up kept from
            # before would be in the past, and the loop would spin without sleeping.
            self.wake = None
            self._apply(self.dialogue.handle(event, now))
        self.outputs.finish()
        return self.end

    def _log_input(self, event: InputEvent, now: float) -> None:
        if self.log is None:
            return
        if isinstance(event, Heard):
            self.log.write(
                "heard",
                now,
                text=event.text,
                source=event.source,
                intent=event.intent.value if event.intent else None,
                confidence=round(event.confidence, 4),
                alternatives=list(event.alternatives),
            )
        elif isinstance(event, NoMatch):
            self.log.write("no_match", now, reason=event.reason, text=event.text)
        elif isinstance(event, Silence):
            self.log.write("silence", now)
        else:
            self.log.event(event, now)

    def _apply(self, events: list[OutputEvent]) -> None:
        for event in events:
            now = self.clock.now()
            if isinstance(event, WakeAt):
                self.wake = event.at
                continue
            if isinstance(event, Speak):
                self.outputs.speak(event)
            elif isinstance(event, Count):
                self.outputs.count(event)
            elif isinstance(event, HaltSpeech):
                self.outputs.halt()
            elif isinstance(event, Listen):
                self.grammar = event.grammar
                self.outputs.listen(event.grammar)
            elif isinstance(event, VoiceChange):
                self.outputs.voice(event)
            elif isinstance(event, End):
                self.end = event
                self.wake = None
            if self.log is not None and not isinstance(event, Listen | HaltSpeech):
                if isinstance(event, Count):
                    self.log.write(
                        "count",
                        now,
                        exercise=event.exercise,
                        n=event.n,
                        scheduled=self.log.rel(event.scheduled),
                        actual=self.log.rel(now),
                    )
                else:
                    self.log.event(event, now)
