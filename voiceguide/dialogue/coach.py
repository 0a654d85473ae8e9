"""The exercise coach: a routine compiled to steps, and a drift-free schedule for them.

Every step starts on a beat of a metronome anchored at an instant ``t0``: step k is due
at ``t0 + beats_before_k * period``. Speaking time never pushes later counts back, so
there is no accumulated drift; only an explicit event (pause, repeat, a new pace)
re-anchors the metronome.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from enum import StrEnum

from voiceguide.content.models import Content, PromptId
from voiceguide.dialogue.events import Count, OutputEvent, Speak


class StepKind(StrEnum):
    SAY = "say"
    COUNT = "count"
    GAP = "gap"


@dataclass(frozen=True, slots=True)
class Step:
    kind: StepKind
    #: SAY: the sentence and its prompt id. COUNT: the count word.
    text: str = ""
    prompt: str = ""
    #: COUNT: the number said. GAP: seconds of quiet.
    n: int = 0
    seconds: float = 0.0
    #: Index into the routine's exercises; -1 before the first and after the last.
    exercise: int = -1
    exercise_id: str = ""
    #: Where "resume" restarts (the start of this repetition) and "repeat" goes back to.
    rep_start: int = 0
    last_cue: int = 0


def estimate_speech_seconds(text: str, words_per_second: float, rate: float) -> float:
    words = max(1, len(text.split()))
    return words / (words_per_second * rate) + 0.3


def compile_routine(content: Content, rng: random.Random) -> list[Step]:
    """The whole coaching session as a flat list of steps."""
    prompts = content.prompts
    steps: list[Step] = []

    def say(text: str, prompt: str, ex: int = -1, ex_id: str = "", rep: int | None = None) -> int:
        idx = len(steps)
        steps.append(
            Step(
                StepKind.SAY,
                text=text,
                prompt=prompt,
                exercise=ex,
                exercise_id=ex_id,
                rep_start=idx if rep is None else rep,
                last_cue=idx,
            )
        )
        return idx

    say(prompts.choose(PromptId.CLEARED, rng), PromptId.CLEARED.value)
    say(prompts.choose(PromptId.SAFETY_RULE, rng), PromptId.SAFETY_RULE.value)
    for ex_i, ex in enumerate(content.routine.exercises):
        pid = f"exercise:{ex.id}"
        say(
            prompts.choose(PromptId.EXERCISE_INTRO, rng, exercise=ex.name),
            PromptId.EXERCISE_INTRO.value,
            ex_i,
            ex.id,
        )
        for side_i, side in enumerate(ex.sides or [""]):
            if side_i > 0:
                say(ex.switch_side, f"{pid}:switch_side", ex_i, ex.id)
            if side:
                say(
                    prompts.choose(PromptId.SIDE_INTRO, rng, side=prompts.side_names[side]),
                    PromptId.SIDE_INTRO.value,
                    ex_i,
                    ex.id,
                )
            setup_start = len(steps)
            say(rng.choice(ex.setup), f"{pid}:setup", ex_i, ex.id)
            steps.append(
                Step(
                    StepKind.GAP,
                    seconds=2.0,
                    exercise=ex_i,
                    exercise_id=ex.id,
                    rep_start=setup_start,
                    last_cue=setup_start,
                )
            )
            for rep in range(ex.reps):
                rep_start = len(steps)
                for phase_i, phase in enumerate(ex.phases):
                    text = phase.cue if rep == 0 or not phase.short else phase.short
                    cue = say(text, f"{pid}:phase{phase_i}", ex_i, ex.id, rep_start)
                    for n in range(1, phase.hold_seconds + 1):
                        steps.append(
                            Step(
                                StepKind.COUNT,
                                text=prompts.count_word(n),
                                n=n,
                                exercise=ex_i,
                                exercise_id=ex.id,
                                rep_start=rep_start,
                                last_cue=cue,
                            )
                        )
                rel = say(ex.release, f"{pid}:release", ex_i, ex.id, rep_start)
                if rep < ex.reps - 1 and ex.rest_seconds > 0:
                    steps.append(
                        Step(
                            StepKind.GAP,
                            seconds=float(ex.rest_seconds),
                            exercise=ex_i,
                            exercise_id=ex.id,
                            rep_start=rep_start,
                            last_cue=rel,
                        )
                    )
    say(prompts.choose(PromptId.WRAP_UP, rng), PromptId.WRAP_UP.value)
    say(prompts.choose(PromptId.GOODBYE, rng), PromptId.GOODBYE.value)
    return steps


class Metronome:
    """Maps step indices to due instants: ``anchor + beats * period``."""

    def __init__(self, period: float, words_per_second: float) -> None:
        self.period = period
        self.rate = 1.0
        self.words_per_second = words_per_second
        self.anchor = 0.0
        self.beats = 0

    def beats_for(self, step: Step) -> int:
        if step.kind is StepKind.COUNT:
            return 1
        if step.kind is StepKind.GAP:
            return max(1, math.ceil(step.seconds / self.period - 1e-9))
        secs = estimate_speech_seconds(step.text, self.words_per_second, self.rate)
        return max(1, math.ceil(secs / self.period))

    def due(self) -> float:
        return self.anchor + self.beats * self.period

    def reanchor(self, t: float, beats: int = 0) -> None:
        self.anchor = t
        self.beats = beats


class Coach:
    """Walks the compiled steps on the metronome. Pure: time comes in as ``now``."""

    def __init__(self, steps: list[Step], period: float, words_per_second: float) -> None:
        if not steps:
            raise ValueError("a routine needs at least one step")
        self.steps = steps
        self.index = 0
        self.metronome = Metronome(period, words_per_second)
        self.last_cue_index = 0

    @property
    def finished(self) -> bool:
        return self.index >= len(self.steps)

    @property
    def current(self) -> Step:
        return self.steps[min(self.index, len(self.steps) - 1)]

    def start(self, now: float) -> None:
        self.metronome.reanchor(now)

    def next_due(self) -> float | None:
        return None if self.finished else self.metronome.due()

    def advance(self, now: float) -> list[OutputEvent]:
        """Emit every step due at or before ``now``, in order."""
        out: list[OutputEvent] = []
        while not self.finished and self.metronome.due() <= now + 1e-9:
            step = self.steps[self.index]
            due = self.metronome.due()
            if step.kind is StepKind.SAY:
                out.append(Speak(step.prompt, step.text))
                self.last_cue_index = self.index
            elif step.kind is StepKind.COUNT:
                out.append(Count(step.exercise_id, step.n, step.text, due))
            self.metronome.beats += self.metronome.beats_for(step)
            self.index += 1
        return out

    def jump(self, index: int, now: float, lead_beats: int = 0) -> None:
        """Continue from step ``index``, its first beat ``lead_beats`` after ``now``."""
        self.index = max(0, min(index, len(self.steps)))
        self.metronome.reanchor(now, lead_beats)

    def speak_now_beats(self, text: str) -> int:
        """Beats to leave for a sentence said now, before the schedule goes on."""
        return self.metronome.beats_for(Step(StepKind.SAY, text=text))

    def resume_point(self) -> int:
        """The start of the repetition in progress: a resumed hold is counted afresh."""
        if self.finished:
            return len(self.steps)
        return self.steps[self.index].rep_start if self.index > 0 else 0

    def repeat_point(self) -> int:
        return self.steps[self.last_cue_index].last_cue

    def next_exercise_point(self) -> int:
        """The first step of the exercise after the one in progress (or the wrap-up)."""
        current = self.steps[self.index - 1].exercise if self.index > 0 else -1
        for i in range(self.index, len(self.steps)):
            ex = self.steps[i].exercise
            if ex > current or (current >= 0 and ex == -1):
                return i
        return len(self.steps)

    def set_period(self, period: float, now: float) -> None:
        """A new pace from the next step on, without moving steps already due."""
        due = self.metronome.due() if not self.finished else now
        self.metronome.period = period
        self.metronome.reanchor(max(due, now))
