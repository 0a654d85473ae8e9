"""``voiceguide demo``: the whole session with a simulated user, on no audio hardware.

The guide's speech is really synthesized and written to WAV files; the simulated user's
lines are synthesized in another voice and fed to the real recognizer as audio, exactly
as a microphone would deliver them. Time is virtual (advanced by the real durations of
the audio), so a ten-minute routine takes seconds and every run is repeatable.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TextIO

import numpy as np
import numpy.typing as npt

from voiceguide.config import Settings
from voiceguide.content.models import Content, DemoScenario
from voiceguide.dialogue.clock import FakeClock
from voiceguide.dialogue.controller import Dialogue, Phase
from voiceguide.dialogue.events import (
    Count,
    End,
    HaltSpeech,
    Heard,
    InputEvent,
    NoMatch,
    OutputEvent,
    Route,
    RouteTo,
    Speak,
    Tick,
    VoiceChange,
    WakeAt,
)
from voiceguide.runtime.log import EventLog
from voiceguide.speech.recognizer import Recognition, Recognizer

#: Seconds the simulated user waits after the guide stops talking before answering.
REACTION_S = 0.6
#: A scripted line the recognizer keeps rejecting is said at most this many times.
MAX_TRIES = 3
#: Quiet before and after each simulated answer, in seconds.
PAD_S = 0.3
#: Virtual time after which a scenario is cut off, whatever happens.
MAX_SESSION_S = 1800.0


class Rendered(Protocol):
    @property
    def samples(self) -> npt.NDArray[np.int16]: ...
    @property
    def sample_rate(self) -> int: ...


#: Text to PCM in a given voice, rate and volume.
Voice = Callable[[str, str, float, float], Rendered]


WavWriter = Callable[[Path, npt.NDArray[np.int16], int], None]
To16k = Callable[[npt.NDArray[np.int16], int], npt.NDArray[np.int16]]


@dataclass
class DemoResult:
    scenario: str
    routes: list[str] = field(default_factory=list)
    end_reason: str = ""
    heard: list[tuple[str, str, bool]] = field(default_factory=list)
    prompts: int = 0
    counts: int = 0
    virtual_seconds: float = 0.0
    folder: Path = Path()
    #: Launch to the start of the first movement cue, as run and with instant answers
    #: (the simulated user's reaction, speech and decoding time taken out).
    first_movement_s: float | None = None
    first_movement_instant_s: float | None = None
    #: From the start of the emergency message to the first sound of the number.
    emergency_number_s: float | None = None


def _seconds(pcm: Rendered) -> float:
    return len(pcm.samples) / pcm.sample_rate


class DemoRun:
    def __init__(
        self,
        content: Content,
        settings: Settings,
        scenario: DemoScenario,
        user_voice: str,
        voice: Voice,
        recognizer: Recognizer,
        to_16k: To16k,
        write_wav: WavWriter,
        folder: Path,
        captions: TextIO,
    ) -> None:
        self.content = content
        # Scheduled from the rendered audio's real length, as the hands-free runtime is.
        self.dialogue = Dialogue(
            content,
            settings,
            lambda text, rate=1.0: _seconds(voice(text, content.locale.tts_voice, rate, 1.0)),
        )
        self.scenario = scenario
        self.user_voice = user_voice
        self.voice = voice
        self.recognizer = recognizer
        self.to_16k = to_16k
        self.write_wav = write_wav
        self.folder = folder
        self.captions = captions
        self.clock = FakeClock()
        self.rate = settings.speech_rate
        self.volume = settings.volume
        self.busy_until = 0.0
        self.wake: float | None = None
        self.files = 0
        self.counts_since_line = 0
        self.user_seconds = 0.0
        self.emergency_from: float | None = None
        self.result = DemoResult(scenario.id, folder=folder)
        self.log = EventLog(folder / "session.jsonl", 0.0)

    # ------------------------------------------------------------ output side

    def _caption(self, who: str, text: str, t: float | None = None) -> None:
        at = self.clock.now() if t is None else t
        self.captions.write(f"[{at:7.2f}s] {who}: {text}\n")
        self.captions.flush()

    def _say(self, name: str, text: str) -> None:
        start = max(self.busy_until, self.clock.now())
        pcm = self.voice(text, self.content.locale.tts_voice, self.rate, self.volume)
        self._measure(name, text, start)
        self.files += 1
        self.write_wav(
            self.folder / f"{self.files:03d}-guide-{name}.wav", pcm.samples, pcm.sample_rate
        )
        self.busy_until = start + len(pcm.samples) / pcm.sample_rate
        self._caption("guide", text, start)

    def _measure(self, name: str, text: str, start: float) -> None:
        """The summary's heard timings, taken from the rendered audio itself."""
        r = self.result
        if r.first_movement_s is None and re.search(r"^exercise-[a-z0-9_]+-phase", name):
            r.first_movement_s = start
            r.first_movement_instant_s = start - self.user_seconds
        if self.emergency_from is not None and r.emergency_number_s is None:
            if self.emergency_from < 0:
                self.emergency_from = start
            at = text.find(self.dialogue.spoken_number)
            if at >= 0:
                before = text[:at].strip()
                lead = 0.0
                if before:
                    pcm = self.voice(before, self.content.locale.tts_voice, self.rate, 1.0)
                    lead = len(pcm.samples) / pcm.sample_rate
                r.emergency_number_s = start + lead - self.emergency_from

    def _apply(self, events: list[OutputEvent]) -> None:
        for event in events:
            now = self.clock.now()
            if isinstance(event, WakeAt):
                self.wake = event.at
                continue
            if isinstance(event, Speak):
                self.result.prompts += 1
                self._say(event.prompt.replace(":", "-"), event.text)
            elif isinstance(event, Count):
                self.result.counts += 1
                self.counts_since_line += 1
                self._say(f"count-{event.exercise}-{event.n}", event.text)
                self.log.write(
                    "count",
                    now,
                    exercise=event.exercise,
                    n=event.n,
                    scheduled=event.scheduled,
                    actual=now,
                )
                continue
            elif isinstance(event, HaltSpeech):
                self.busy_until = now  # Cut mid-word, as the speaker would.
            elif isinstance(event, VoiceChange):
                self.rate, self.volume = event.rate, event.volume
            elif isinstance(event, Route):
                if event.to is RouteTo.EMERGENCY and self.result.emergency_number_s is None:
                    self.emergency_from = -1.0  # set by the message's first sound
                self.result.routes.append(event.to.value)
                self._caption("route", f"{event.to.value} ({event.reason})")
            elif isinstance(event, End):
                self.result.end_reason = event.reason
                self.wake = None
            self.log.event(event, now)

    # ------------------------------------------------------------ the simulated user

    def _user_speaks(self, text: str) -> bool:
        """Say ``text`` into the recognizer; True if it was accepted."""
        pcm = self.voice(text, self.user_voice, 1.0, 1.0)
        # A microphone hears some room quiet either side of the words; decoders need it.
        pad = np.zeros(int(16_000 * PAD_S), dtype=np.int16)
        audio = np.concatenate([pad, self.to_16k(pcm.samples, pcm.sample_rate), pad])
        self.files += 1
        self.write_wav(self.folder / f"{self.files:03d}-user.wav", audio, 16_000)
        grammar = self.dialogue.grammar or "yes_no"
        result: Recognition = self.recognizer.recognize(audio, grammar)
        self.clock.advance(len(audio) / 16_000 + result.decode_seconds)
        shown = result.text or "-"
        verdict = (
            f"heard {shown!r} ({result.intent}, score {result.score:.2f})"
            if result.accepted
            else f"rejected {shown!r} ({result.reason})"
        )
        self._caption("user", f"{text}    [{verdict}]")
        self.result.heard.append((text, shown, result.accepted))
        event: InputEvent
        if result.accepted:
            event = Heard(
                result.text,
                intent=result.intent,
                confidence=result.score,
                alternatives=result.alternatives,
                source=result.engine,
            )
            self.log.write(
                "heard",
                self.clock.now(),
                text=result.text,
                source=result.engine,
                intent=result.intent.value if result.intent else None,
                confidence=round(result.score, 4),
            )
        else:
            event = NoMatch(result.reason, result.text, source=result.engine)
            self.log.write("no_match", self.clock.now(), reason=result.reason, text=result.text)
        self._apply(self.dialogue.handle(event, self.clock.now()))
        return result.accepted

    def _waiting_for_answer(self) -> bool:
        return self.dialogue.phase in (
            Phase.SCREENING,
            Phase.SETUP,
            Phase.PAIN_CHECK,
            Phase.EMERGENCY,
            Phase.PAUSED,
        )

    def _tick(self) -> None:
        """Jump to the due wake-up; only a fresh WakeAt from the dialogue sets the next."""
        assert self.wake is not None
        self.clock.set(max(self.clock.now(), self.wake))
        self.wake = None
        self._apply(self.dialogue.handle(Tick(), self.clock.now()))

    def run(self) -> DemoResult:
        self._caption("demo", self.scenario.title)
        self._apply(self.dialogue.start(self.clock.now()))
        lines = deque(self.scenario.lines)
        tries = 0
        while self.dialogue.phase is not Phase.ENDED and self.clock.now() < MAX_SESSION_S:
            line = lines[0] if lines else None
            if self._waiting_for_answer() and (line is None or line.after_count is not None):
                # The session waits for an answer the script does not have (it ran out, or
                # it expected the exercises): stop here rather than loop on re-asks.
                self.result.end_reason = self.result.end_reason or "script finished"
                break
            speak_now = line is not None and (
                (line.after_count is None and self._waiting_for_answer())
                or (line.after_count is not None and self.counts_since_line >= line.after_count)
            )
            if line is not None and speak_now:
                t = max(self.clock.now(), self.busy_until + REACTION_S)
                if self.wake is not None and self.wake < t and line.after_count is None:
                    # Something is due first (a timeout or a count): let it happen.
                    self._tick()
                    continue
                guide_done = max(self.clock.now(), self.busy_until)
                self.clock.set(t if line.after_count is None else self.clock.now())
                accepted = self._user_speaks(line.say)
                # Time the guide spent waiting on this simulated user, not on itself.
                self.user_seconds += max(0.0, self.clock.now() - guide_done)
                tries += 1
                if accepted or tries >= MAX_TRIES:
                    lines.popleft()
                    tries = 0
                    self.counts_since_line = 0
                continue
            if self.wake is None:
                break
            self._tick()
        self.result.virtual_seconds = self.clock.now()
        self.log.close()
        return self.result
