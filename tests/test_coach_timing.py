"""The coach's schedule: counts on t0 + k * period, with no drift from late wake-ups."""

from __future__ import annotations

import itertools
import random

import hypothesis.strategies as st
import pytest
from hypothesis import given

from tests.helpers import content
from voiceguide.dialogue.coach import (
    BREATH_S,
    Coach,
    SpeechSeconds,
    StepKind,
    compile_routine,
)
from voiceguide.dialogue.coach import estimated_speech as estimated
from voiceguide.dialogue.events import Count, Speak


def make_coach(period: float = 1.0, speech: SpeechSeconds | None = None) -> Coach:
    return Coach(compile_routine(content(), random.Random(0)), period, speech or estimated(2.6))


def ready_if_waiting(coach: Coach, now: float) -> None:
    """The user says "ready" the moment a setup's wait begins (as a fixed 2 s later)."""
    if coach.waiting:
        coach.ready(now + 2.0)


def run(coach: Coach, t0: float, lateness: list[float]) -> list[Count]:
    """Wake the coach at each due instant plus some lateness, as a busy runtime might."""
    coach.start(t0)
    counts: list[Count] = []
    i = 0
    while not coach.finished:
        due = coach.next_due()
        assert due is not None
        late = lateness[i % len(lateness)] if lateness else 0.0
        i += 1
        counts += [e for e in coach.advance(due + late) if isinstance(e, Count)]
        ready_if_waiting(coach, coach.speaking_until)
    return counts


def test_routine_compiles_every_exercise_side_and_hold() -> None:
    steps = compile_routine(content(), random.Random(0))
    holds = sum(
        len(ex.sides or [""]) * ex.reps * sum(p.hold_seconds for p in ex.phases)
        for ex in content().routine.exercises
    )
    assert sum(1 for s in steps if s.kind is StepKind.COUNT) == holds


def test_counts_inside_a_hold_are_one_period_apart() -> None:
    counts = run(make_coach(1.25), 100.0, [])
    holds: dict[tuple[str, float], list[Count]] = {}
    start = 0.0
    for c in counts:
        if c.n == 1:
            start = c.scheduled
        holds.setdefault((c.exercise, start), []).append(c)
    for hold in holds.values():
        for c in hold:
            assert abs(c.scheduled - (hold[0].scheduled + (c.n - 1) * 1.25)) < 1e-9


@given(st.lists(st.tuples(st.floats(0.001, 0.9), st.floats(0.0, 3.5)), min_size=1, max_size=50))
def test_late_wake_ups_never_shift_the_schedule(wake_ups: list[tuple[float, float]]) -> None:
    """However early or late the runtime wakes (several beats late too), every count comes
    out once, in order, on its exact slot, never before it is due and never held back
    once it is: zero drift."""
    ideal = run(make_coach(), 0.0, [])
    coach = make_coach()
    coach.start(0.0)
    counts: list[Count] = []
    for i in itertools.count():
        due = coach.next_due()
        if due is None:
            break
        early, late = wake_ups[i % len(wake_ups)]
        assert coach.advance(due - early) == []  # woken early (e.g. by input): nothing yet
        now = due + late
        step = [e for e in coach.advance(now) if isinstance(e, Count)]
        assert all(c.scheduled <= now + 1e-9 for c in step), (now, step)
        # Nothing held back (a setup waits for "ready" by design, not by lateness).
        assert coach.finished or coach.waiting or (coach.next_due() or 0.0) > now + 1e-9
        counts += step
        ready_if_waiting(coach, coach.speaking_until)
    assert counts == ideal


def test_the_schedule_is_fixed_by_the_anchor_and_the_spoken_lengths() -> None:
    """Moving the start moves every count by exactly as much: nothing depends on when
    the runtime happened to wake."""
    a = run(make_coach(), 0.0, [0.3])
    b = run(make_coach(), 7.0, [0.0, 0.6])
    assert len(a) == len(b) > 0
    for x, y in zip(a, b, strict=True):
        assert abs(y.scheduled - x.scheduled - 7.0) < 1e-9


def test_nothing_moves_while_waiting_for_ready() -> None:
    coach = make_coach()
    coach.start(0.0)
    said = coach.advance(1000.0)
    assert coach.waiting and coach.next_due() is None
    assert isinstance(said[-1], Speak) and said[-1].prompt == "ready_wait"
    assert coach.advance(5000.0) == []
    coach.ready(5000.0)
    first = coach.advance(5000.0)
    assert isinstance(first[0], Speak) and first[0].prompt.endswith(":phase0")


def test_jump_reanchors_without_touching_the_period() -> None:
    coach = make_coach()
    coach.start(0.0)
    coach.advance(30.0)
    index = coach.index
    coach.jump(coach.resume_point(), 100.0, lead=2.0)
    assert coach.next_due() == 102.0
    assert coach.index <= index


def test_set_period_applies_from_the_next_step() -> None:
    coach = make_coach()
    coach.start(0.0)
    # Walk to the first count.
    while coach.current.kind is not StepKind.COUNT:
        due = coach.next_due()
        assert due is not None
        coach.advance(due)
        ready_if_waiting(coach, due)
    first = coach.advance(coach.next_due() or 0.0)
    assert isinstance(first[0], Count)
    due = coach.next_due()
    assert due is not None
    coach.set_period(1.6, due - 0.5)
    second = coach.advance(coach.next_due() or 0.0)
    third = coach.advance(coach.next_due() or 0.0)
    assert isinstance(second[0], Count) and isinstance(third[0], Count)
    assert abs(third[0].scheduled - second[0].scheduled - 1.6) < 1e-9


def test_cues_get_room_to_be_spoken_and_no_dead_air() -> None:
    """Each sentence gets its (injected) real length and a breath (a movement cue: one
    period to move): no more, no less."""

    def length(text: str, rate: float = 1.0) -> float:
        return 0.37 * len(text)  # any deterministic stand-in for a rendered length

    coach = make_coach(speech=length)
    coach.start(0.0)
    events = []
    while not coach.finished:
        due = coach.next_due()
        assert due is not None
        events += [(due, e) for e in coach.advance(due)]
        ready_if_waiting(coach, due)
    for (t, e), (t_next, nxt) in itertools.pairwise(events):
        if isinstance(e, Speak) and e.prompt not in ("ready_wait", "rest"):
            # A movement cue: one count period to move before "one"; else a breath.
            after = 1.0 if isinstance(nxt, Count) else BREATH_S
            assert t_next - t == pytest.approx(length(e.text) + after), e.text
