"""The coach's schedule: counts on t0 + k * period, with no drift from late wake-ups."""

from __future__ import annotations

import itertools
import random

import hypothesis.strategies as st
from hypothesis import given

from tests.helpers import content
from voiceguide.dialogue.coach import Coach, StepKind, compile_routine
from voiceguide.dialogue.events import Count, Speak


def make_coach(period: float = 1.0) -> Coach:
    return Coach(compile_routine(content(), random.Random(0)), period, 2.6)


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
        assert coach.finished or (coach.next_due() or 0.0) > now + 1e-9  # nothing held back
        counts += step
    assert counts == ideal


def test_every_count_is_on_the_metronome_grid() -> None:
    counts = run(make_coach(), 7.0, [0.3])
    for c in counts:
        k = (c.scheduled - 7.0) / 1.0
        assert abs(k - round(k)) < 1e-9


def test_jump_reanchors_without_touching_the_period() -> None:
    coach = make_coach()
    coach.start(0.0)
    coach.advance(30.0)
    index = coach.index
    coach.jump(coach.resume_point(), 100.0, lead_beats=2)
    assert coach.next_due() == 102.0
    assert coach.index <= index


def test_set_period_applies_from_the_next_step() -> None:
    coach = make_coach()
    coach.start(0.0)
    # Walk to the first count.
    while coach.current.kind is not StepKind.COUNT:
        coach.advance(coach.next_due() or 0.0)
    first = coach.advance(coach.next_due() or 0.0)
    assert isinstance(first[0], Count)
    due = coach.next_due()
    assert due is not None
    coach.set_period(1.6, due - 0.5)
    second = coach.advance(coach.next_due() or 0.0)
    third = coach.advance(coach.next_due() or 0.0)
    assert isinstance(second[0], Count) and isinstance(third[0], Count)
    assert abs(third[0].scheduled - second[0].scheduled - 1.6) < 1e-9


def test_cues_get_room_to_be_spoken() -> None:
    coach = make_coach()
    coach.start(0.0)
    events = []
    while not coach.finished:
        due = coach.next_due()
        assert due is not None
        events += [(due, e) for e in coach.advance(due)]
    for (t, e), (t_next, _) in itertools.pairwise(events):
        if isinstance(e, Speak):
            words = len(e.text.split())
            assert t_next - t >= words / 2.6, e.text
