"""The exercise coach: a routine compiled to steps, and a drift-free schedule for them.

Every step is due at a fixed offset from an instant ``t0``: step k at ``t0 + sum of
the lengths of steps 0..k-1``, where a count lasts one period, a gap its seconds, and a
sentence its spoken length plus a short breath (a movement cue: plus one period, to
move before "one"). Late wake-ups never push later steps back, so there is no
accumulated drift, and the counts of a hold are exactly one period apart; only an
explicit event (pause, repeat, a new pace, the user's "ready" after a setup) re-anchors
the schedule. A sentence gets its real length, not a whole number of beats, so no dead
air is left after it.

How long a sentence takes to say comes from an injected ``SpeechSeconds``: the runtime
gives the synthesizer's real rendered length, tests and text mode an estimate.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from voiceguide.content.models import Content, PromptId
from voiceguide.dialogue.events import Count, OutputEvent, Speak


class StepKind(StrEnum):
    SAY = "say"
    COUNT = "count"
    GAP = "gap"
    #: Say "tell me when you are ready", then wait for the user (the dialogue decides).
    READY = "ready"


class SpeechSeconds(Protocol):
    """Seconds it takes to say ``text`` at speech-rate multiplier ``rate``."""

    def __call__(self, text: str, rate: float = 1.0) -> float: ...


def estimated_speech(words_per_second: float) -> SpeechSeconds:
    """A word-count estimate, for when no synthesizer can tell the real length."""

    def seconds(text: str, rate: float = 1.0) -> float:
        return estimate_speech_seconds(text, words_per_second, rate)

    return seconds


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

    def gap(seconds: float, ex: int, ex_id: str, rep: int, cue: int) -> None:
        steps.append(
            Step(
                StepKind.GAP,
                seconds=seconds,
                exercise=ex,
                exercise_id=ex_id,
                rep_start=rep,
                last_cue=cue,
            )
        )

    say(prompts.choose(PromptId.CLEARED, rng), PromptId.CLEARED.value)
    say(prompts.choose(PromptId.SAFETY_RULE, rng), PromptId.SAFETY_RULE.value)
    exercises = content.routine.exercises
    for ex_i, ex in enumerate(exercises):
        pid = f"exercise:{ex.id}"
        intro = prompts.choose(
            PromptId.EXERCISE_INTRO,
            rng,
            exercise=ex.name,
            n=prompts.count_word(ex_i + 1),
            total=prompts.count_word(len(exercises)),
        )
        say(intro, PromptId.EXERCISE_INTRO.value, ex_i, ex.id)
        for side_i, side in enumerate(ex.sides or [""]):
            fields = side_fields(content, ex.sides, side)
            if side_i > 0:
                say(ex.switch_side, f"{pid}:switch_side", ex_i, ex.id)
            if side:
                which = PromptId.SIDE_NEXT if side_i > 0 else PromptId.SIDE_INTRO
                say(prompts.choose(which, rng, side=fields["side"]), which.value, ex_i, ex.id)
            setup_start = say(rng.choice(ex.setup).format(**fields), f"{pid}:setup", ex_i, ex.id)
            steps.append(
                Step(
                    StepKind.READY,
                    text=prompts.choose(PromptId.READY_WAIT, rng),
                    prompt=PromptId.READY_WAIT.value,
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
                    text = text.format(**fields)
                    if phase_i == 0 and rep > 0:
                        text = f"{_progress(content, rng, rep + 1, ex.reps)} {text}"
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
                rel = say(ex.release.format(**fields), f"{pid}:release", ex_i, ex.id, rep_start)
                if rep < ex.reps - 1 and ex.rest_seconds > 0:
                    rest = prompts.choose(PromptId.REST, rng)
                    say(rest, PromptId.REST.value, ex_i, ex.id, rep_start)
                    gap(float(ex.rest_seconds), ex_i, ex.id, rep_start, rel)
    say(prompts.choose(PromptId.WRAP_UP, rng), PromptId.WRAP_UP.value)
    say(prompts.choose(PromptId.GOODBYE, rng), PromptId.GOODBYE.value)
    return steps


def side_fields(content: Content, sides: list[str], side: str) -> dict[str, str]:
    """``{side}`` (the side being worked) and ``{other}`` for an exercise's sentences."""
    if not side:
        return {}
    names = content.prompts.side_names
    others = [s for s in sides if s != side] or [s for s in names if s != side] or [side]
    return {"side": names[side], "other": names[others[0]]}


def _progress(content: Content, rng: random.Random, n: int, total: int) -> str:
    """ "Number three of eight." before a repetition, or "Last one." before the last."""
    prompts = content.prompts
    if n == total:
        return prompts.choose(PromptId.PROGRESS_LAST, rng)
    return prompts.choose(
        PromptId.PROGRESS, rng, n=prompts.count_word(n), total=prompts.count_word(total)
    )


#: Quiet after each sentence before the next step, so cues do not run together (a
#: rendered sentence already ends in about 0.3 s of silence).
BREATH_S = 0.1


class Metronome:
    """Maps step indices to due instants: ``anchor + offset``."""

    def __init__(self, period: float, speech_seconds: SpeechSeconds) -> None:
        self.period = period
        self.rate = 1.0
        self.speech_seconds = speech_seconds
        self.anchor = 0.0
        self.offset = 0.0

    def seconds_for(self, step: Step, before_count: bool = False) -> float:
        if step.kind is StepKind.COUNT:
            return self.period
        if step.kind is StepKind.GAP:
            return step.seconds
        # A movement cue gets one count period after it, to make the movement before
        # "one" (it also lets the cue's echo die away before counting starts).
        after = self.period if before_count else BREATH_S
        return self.speech_seconds(step.text, self.rate) + after

    def due(self) -> float:
        return self.anchor + self.offset

    def reanchor(self, t: float, lead: float = 0.0) -> None:
        self.anchor = t
        self.offset = lead


class Coach:
    """Walks the compiled steps on the metronome. Pure: time comes in as ``now``."""

    def __init__(self, steps: list[Step], period: float, speech_seconds: SpeechSeconds) -> None:
        if not steps:
            raise ValueError("a routine needs at least one step")
        self.steps = steps
        self.index = 0
        self.metronome = Metronome(period, speech_seconds)
        self.last_cue_index = 0
        #: Set when a READY step was said: nothing more until ``ready()`` or a jump.
        self.waiting = False
        #: The sentence said last, and when its sound ends (for cutting it off cleanly).
        self.speaking_index = -1
        self.speaking_until = 0.0

    @property
    def finished(self) -> bool:
        return self.index >= len(self.steps)

    @property
    def current(self) -> Step:
        return self.steps[min(self.index, len(self.steps) - 1)]

    def start(self, now: float) -> None:
        self.metronome.reanchor(now)

    def next_due(self) -> float | None:
        return None if self.finished or self.waiting else self.metronome.due()

    def advance(self, now: float) -> list[OutputEvent]:
        """Emit every step due at or before ``now``, in order, up to a READY step."""
        out: list[OutputEvent] = []
        while not self.finished and not self.waiting and self.metronome.due() <= now + 1e-9:
            step = self.steps[self.index]
            due = self.metronome.due()
            if step.kind in (StepKind.SAY, StepKind.READY):
                out.append(Speak(step.prompt, step.text))
                self.speaking_index = self.index
                self.speaking_until = due + self.metronome.speech_seconds(
                    step.text, self.metronome.rate
                )
                if step.kind is StepKind.SAY:
                    self.last_cue_index = self.index
            elif step.kind is StepKind.COUNT:
                out.append(Count(step.exercise_id, step.n, step.text, due))
            following = self.steps[self.index + 1] if self.index + 1 < len(self.steps) else None
            before_count = following is not None and following.kind is StepKind.COUNT
            self.metronome.offset += self.metronome.seconds_for(step, before_count)
            self.index += 1
            self.waiting = step.kind is StepKind.READY
        return out

    def ready(self, now: float, lead: float = 0.0) -> None:
        """The user is in position: the first movement follows ``lead`` seconds after now."""
        self.jump(self.index, now, lead)

    def setup_point(self) -> int:
        """While waiting for "ready": the start of the setup just said."""
        return self.steps[self.index - 1].rep_start

    def interrupted_point(self, now: float) -> int:
        """Where to go on after cutting the guide off: the sentence still being said
        (so it is heard whole, after the interruption), else the next step."""
        if now < self.speaking_until - 1e-9 and 0 <= self.speaking_index < self.index:
            return self.speaking_index
        return self.index

    def jump(self, index: int, now: float, lead: float = 0.0) -> None:
        """Continue from step ``index``, due ``lead`` seconds after ``now``."""
        self.index = max(0, min(index, len(self.steps)))
        self.waiting = False
        self.speaking_index = -1
        self.metronome.reanchor(now, lead)

    def speak_now_seconds(self, text: str) -> float:
        """Time to leave for a sentence said now, before the schedule goes on."""
        return self.metronome.seconds_for(Step(StepKind.SAY, text=text))

    def resume_point(self) -> int:
        """The start of the repetition in progress: a resumed hold is counted afresh.
        While waiting for "ready", the setup is said again."""
        if self.waiting:
            return self.setup_point()
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
