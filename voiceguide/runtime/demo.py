"""``voiceguide demo``: the hands-free session with a simulated user, on no audio hardware.

The real ``Session`` and ``VoiceIO`` run on the in-memory transport (``audio/memory.py``):
the guide's speech is really synthesized and played into a simulated room, where its
microphone hears it back (echo, reverb, a noise floor) along with the simulated user.
The user's lines are synthesized in several voices (or taken from recorded clips) and
spoken into the room when a person would say them; the runtime's endpointer, over-speech
decoding and echo rule decide what was heard, exactly as live. Time is virtual, so a
ten-minute routine takes seconds and every run is repeatable.
"""

from __future__ import annotations

import io
import re
import sys
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TextIO

import numpy as np
import numpy.typing as npt

from voiceguide.audio.memory import MemoryTransport, Played, RoomSpec
from voiceguide.config import Settings
from voiceguide.content.models import Content, DemoLine, DemoScenario
from voiceguide.dialogue.clock import Clock, LeadClock
from voiceguide.dialogue.controller import Dialogue, Phase
from voiceguide.dialogue.events import (
    Count,
    End,
    Heard,
    InputEnded,
    InputEvent,
    NoMatch,
    OutputEvent,
    Route,
    RouteTo,
    Speak,
    VoiceChange,
)
from voiceguide.dialogue.intents import Intent
from voiceguide.runtime.log import EventLog
from voiceguide.runtime.session import Session
from voiceguide.runtime.voice import COUNT_MARGIN_S, VoiceIO
from voiceguide.speech.recognizer import Recognizer
from voiceguide.speech.synthesis import Synthesizer

Int16 = npt.NDArray[np.int16]

#: Seconds the simulated user waits after the guide stops talking before answering.
REACTION_S = 0.6
#: ...and after the count it wanted to talk over.
COUNT_REACTION_S = 0.3
#: After saying something, how long the user waits for the guide to react before taking
#: it that it was not heard.
RESULT_WAIT_S = 1.5
#: A line the guide keeps rejecting is said at most this many times, each time slower,
#: as people repeat themselves when not understood.
RETRY_RATES = (1.0, 0.85, 0.75)
#: Virtual time after which a scenario is cut off, whatever happens.
MAX_SESSION_S = 1800.0
#: Turns in which the dialogue waits for the user to speak.
WAITING = (Phase.SCREENING, Phase.PAIN_CHECK, Phase.EMERGENCY, Phase.PAUSED, Phase.SETUP)


class UserSpeech(Protocol):
    """How the simulated user says a line: 16 kHz audio, and the voice's name."""

    def __call__(self, text: str, attempt: int, line_no: int) -> tuple[Int16, str]: ...


WavWriter = Callable[[Path, Int16, int], None]


@dataclass
class Attempt:
    """One time the user said a line, and what came of it."""

    said: str
    voice: str
    at: float
    expected: Intent | None
    heard: str = "-"
    intent: Intent | None = None
    #: understood, misheard (taken as another intent), rejected, or unheard.
    outcome: str = ""


@dataclass
class DemoResult:
    scenario: str
    routes: list[str] = field(default_factory=list)
    end_reason: str = ""
    attempts: list[Attempt] = field(default_factory=list)
    #: Things the guide heard while the user was silent (its own voice, the room).
    phantoms: list[str] = field(default_factory=list)
    prompts: int = 0
    counts: int = 0
    barge_ins: int = 0
    self_rejected: int = 0
    virtual_seconds: float = 0.0
    folder: Path = Path()
    #: Launch to the start of the first movement cue, as run and with instant answers
    #: (the simulated user's reaction, speech and the guide's wait for it taken out).
    first_movement_s: float | None = None
    first_movement_instant_s: float | None = None
    #: From the start of the emergency message to the first sound of the number.
    emergency_number_s: float | None = None

    @property
    def heard(self) -> list[tuple[str, str, bool]]:
        return [(a.said, a.heard, a.outcome == "understood") for a in self.attempts]

    def per_voice(self) -> dict[str, dict[str, int]]:
        """Attempts and their outcomes for each voice."""
        out: dict[str, Counter[str]] = {}
        for a in self.attempts:
            out.setdefault(a.voice, Counter())["attempts"] += 1
            out[a.voice][a.outcome] += 1
        keys = ("attempts", "understood", "rejected", "unheard", "misheard")
        return {v: {k: c[k] for k in keys} for v, c in sorted(out.items())}


class _TappedDialogue(Dialogue):
    """The real dialogue; every output is also shown to the demo (routes, the end)."""

    def __init__(
        self, content: Content, settings: Settings, tap: Callable[[OutputEvent], None]
    ) -> None:
        super().__init__(content, settings)
        self._tap = tap

    def start(self, now: float) -> list[OutputEvent]:
        return self._seen(super().start(now))

    def handle(self, event: InputEvent, now: float) -> list[OutputEvent]:
        return self._seen(super().handle(event, now))

    def _seen(self, out: list[OutputEvent]) -> list[OutputEvent]:
        for e in out:
            self._tap(e)
        return out


class _TimedCaptions(io.StringIO):
    """VoiceIO's captions, each line stamped with the virtual time."""

    def __init__(self, clock: Clock, out: TextIO) -> None:
        super().__init__()
        self.clock = clock
        self.out = out
        self._partial = ""

    def write(self, text: str, /) -> int:
        self._partial += text
        while "\n" in self._partial:
            line, self._partial = self._partial.split("\n", 1)
            self.out.write(f"[{self.clock.now():7.2f}s] {line}\n")
        return len(text)

    def flush(self) -> None:
        self.out.flush()


class DemoRun:
    """One scenario: the real session on the in-memory room, and a simulated user in it."""

    def __init__(
        self,
        content: Content,
        settings: Settings,
        scenario: DemoScenario,
        user: UserSpeech,
        recognizer: Recognizer,
        synth: Synthesizer | None,
        write_wav: WavWriter,
        folder: Path,
        captions: TextIO = sys.stdout,
        room: RoomSpec | None = None,
    ) -> None:
        self.content = content
        self.scenario = scenario
        self.user = user
        self.synth = synth
        self.write_wav = write_wav
        self.folder = folder
        self.out = captions
        self.result = DemoResult(scenario.id, folder=folder)
        self.transport = MemoryTransport(room or RoomSpec(seed=settings.seed or 0), record=True)
        self.clock = self.transport.clock
        self.speaker = self.transport.speaker
        self.dialogue = _TappedDialogue(content, settings, self._tap)
        self.io = VoiceIO(
            content,
            recognizer,
            synth,
            self.speaker,
            self.transport.open_mic,
            captions=_TimedCaptions(self.clock, captions),
            rate=settings.speech_rate,
            volume=settings.volume,
            clock=self.clock,
        )
        # As ``run`` wires it: dialogue time is "heard" time, ahead by the output latency.
        self.session_clock = LeadClock(self.clock, self.speaker.latency + COUNT_MARGIN_S)
        self.log = EventLog(folder / "session.jsonl", self.session_clock.now())
        self.files = 0
        self.lines: deque[DemoLine] = deque(scenario.lines)
        self.line_no = 0
        self.tries = 0
        self.attempt: Attempt | None = None
        self.result_by = 0.0
        self.guide_done: float | None = None
        self.user_seconds = 0.0
        self.counts_since_line = 0
        self.last_count = 0.0
        self.finished = False
        self.tried_in = Phase.NOT_STARTED
        self.emergency_from: float | None = None
        self.transport.on_block.append(self._user_turn)
        self.transport.on_event.append(self._user_hears)

    # ------------------------------------------------------------ the guide's side

    def _tap(self, event: OutputEvent) -> None:
        if isinstance(event, Route):
            if event.to is RouteTo.EMERGENCY and self.result.emergency_number_s is None:
                self.emergency_from = -1.0  # set by the message's first sound
            self.result.routes.append(event.to.value)
            self._caption("route", f"{event.to.value} ({event.reason})")
        elif isinstance(event, End):
            self.result.end_reason = event.reason

    def _caption(self, who: str, text: str) -> None:
        self.out.write(f"[{self.clock.now():7.2f}s] {who}: {text}\n")
        self.out.flush()

    def _played(self, name: str) -> Played | None:
        """The sound just handed to the speaker, written as a WAV file."""
        if not self.speaker.played:
            return None
        p = self.speaker.played[-1]
        self.files += 1
        self.write_wav(self.folder / f"{self.files:03d}-guide-{name}.wav", p.samples, p.rate)
        return p

    def _measure(self, prompt: str, text: str, start: float) -> None:
        """The summary's heard timings, taken from the sounds as played."""
        r = self.result
        if r.first_movement_s is None and re.search(r"^exercise:[a-z0-9_]+:phase", prompt):
            r.first_movement_s = start - self.transport.t0
            r.first_movement_instant_s = r.first_movement_s - self.user_seconds
        if self.emergency_from is None or r.emergency_number_s is not None:
            return
        if self.emergency_from < 0:
            self.emergency_from = start
        at = text.find(self.dialogue.spoken_number)
        if at >= 0:
            before = text[:at].strip()
            lead = 0.0
            if before and self.synth is not None:
                voice = self.content.locale.tts_voice
                lead = self.synth.render(before, voice, self.io.rate).seconds
            r.emergency_number_s = start + lead - self.emergency_from

    # ------------------------------------------------------------ the simulated user

    def _waiting(self) -> bool:
        return self.dialogue.phase in WAITING

    def _user_turn(self, now: float) -> None:
        """Before each block of room sound: does the user say something now?"""
        if self.finished:
            return
        if self.attempt is not None:
            if now < self.result_by:
                return
            self._outcome(None, now)  # the guide did not react: not heard
        if self.tries and self.dialogue.phase is not self.tried_in:
            self._next_line()  # the guide moved on (e.g. to the emergency route)
        line = self.lines[0] if self.lines else None
        quiet = not self.speaker.busy and now >= self.speaker.ended_at + REACTION_S
        if self._waiting() and (
            line is None or line.after_count is not None or self._expected(line) is None
        ):
            if quiet:
                # The session waits for an answer the script does not have (it ran out, it
                # expected the exercises, or its next line answers nothing here, as after
                # an emergency route it did not foresee): stop rather than loop on re-asks.
                self._caption("demo", "the script has nothing to say here; ending")
                self.result.end_reason = "script finished"
                self.finished = True
                self.io.post(InputEnded())
            return
        if line is None:
            return
        if line.after_count is None:
            if self._waiting() and quiet:
                self._speak(line, now)
        elif (
            self.counts_since_line >= line.after_count and now >= self.last_count + COUNT_REACTION_S
        ):
            self._speak(line, now)

    def _expected(self, line: DemoLine) -> Intent | None:
        """What the line means in the turn the guide is listening in now."""
        return self.dialogue.understander.understand(line.say, self.dialogue.grammar or "yes_no")

    def _speak(self, line: DemoLine, now: float) -> None:
        audio, voice = self.user(line.say, self.tries, self.line_no)
        start, end = self.transport.say(audio, now)
        self.attempt = Attempt(line.say, voice, start, self._expected(line))
        if not self.tries:
            self.tried_in = self.dialogue.phase
        self.result_by = end + RESULT_WAIT_S
        self.guide_done = None if line.after_count else min(now, self.speaker.ended_at)
        self.files += 1
        self.write_wav(self.folder / f"{self.files:03d}-user.wav", audio, 16_000)
        self._caption("user", f"{line.say}    [{voice}, try {self.tries + 1}]")

    def _user_hears(self, event: InputEvent) -> None:
        """Each event the session is handed: the outcome of what the user said."""
        if not isinstance(event, Heard | NoMatch):
            return
        if self.attempt is None:
            self.result.phantoms.append(event.text if isinstance(event, Heard) else "(rejected)")
            return
        self._outcome(event, self.clock.now())

    def _outcome(self, event: Heard | NoMatch | None, now: float) -> None:
        a = self.attempt
        assert a is not None
        if isinstance(event, Heard):
            a.heard = event.text
            grammar = self.dialogue.grammar or "yes_no"
            a.intent = event.intent or self.dialogue.understander.understand(event.text, grammar)
            a.outcome = "understood" if a.intent == a.expected else "misheard"
        elif isinstance(event, NoMatch):
            a.heard, a.outcome = event.text or "-", "rejected"
        else:
            a.outcome = "unheard"
        self.result.attempts.append(a)
        self._caption("demo", f"{a.said!r} was {a.outcome} (heard {a.heard!r})")
        if self.guide_done is not None:
            # Time the guide spent waiting on this simulated user, not on itself.
            self.user_seconds += max(0.0, now - self.guide_done)
        self.attempt = None
        line = self.lines[0]
        self.tries += 1
        if a.outcome in ("understood", "misheard") or self.tries >= len(RETRY_RATES):
            self._next_line()
        elif line.after_count is not None:
            self.counts_since_line = line.after_count - 1  # again after the next count

    def _next_line(self) -> None:
        self.lines.popleft()
        self.line_no += 1
        self.tries = 0
        self.counts_since_line = 0

    # ------------------------------------------------------------ the run

    def run(self) -> DemoResult:
        self._caption("demo", self.scenario.title)
        session = Session(
            self.dialogue,
            self.session_clock,
            self.transport.inputs(self.io, MAX_SESSION_S),
            _DemoOutputs(self),
            log=self.log,
        )
        try:
            end = session.run()
        finally:
            self.io.close()
        if not self.result.end_reason:
            self.result.end_reason = end.reason
        s = self.io.stats
        self.result.barge_ins, self.result.self_rejected = s.barge_ins, s.self_rejected
        self.log.write(
            "voice_stats",
            self.session_clock.now(),
            turns=len(s.turns),
            barge_ins=s.barge_ins,
            self_rejected=s.self_rejected,
        )
        self.log.close()
        self.write_wav(self.folder / "microphone.wav", self.transport.recording(), 16_000)
        self.result.virtual_seconds = self.clock.now() - self.transport.t0
        return self.result


class _DemoOutputs:
    """The session's output sink: ``VoiceIO`` itself, with each sound also written to a
    WAV file and measured."""

    def __init__(self, run: DemoRun) -> None:
        self.run = run
        self.io = run.io

    def speak(self, event: Speak) -> None:
        self.run.result.prompts += 1
        self.io.speak(event)
        p = self.run._played(event.prompt.replace(":", "-"))
        if p is not None:
            self.run._measure(event.prompt, event.text, p.start)

    def count(self, event: Count) -> None:
        self.run.result.counts += 1
        self.io.count(event)
        p = self.run._played(f"count-{event.exercise}-{event.n}")
        self.run.counts_since_line += 1
        self.run.last_count = p.start if p is not None else self.run.clock.now()

    def halt(self) -> None:
        self.io.halt()

    def listen(self, grammar: str) -> None:
        self.io.listen(grammar)

    def voice(self, event: VoiceChange) -> None:
        self.io.voice(event)

    def finish(self) -> None:
        self.io.finish()
