"""The four safety rules as properties over generated sessions.

The checks do not trust the dialogue's own understanding: what counts as a confident
"no" or an emergency word is recomputed here from the grammar data (and each question's
own whole-sentence answers) with regular expressions, independently of
``voiceguide.dialogue.understanding``.
"""

from __future__ import annotations

import copy
import itertools
import re

import hypothesis.strategies as st
from hypothesis import event as note_event
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from tests.helpers import Driver, content
from voiceguide.dialogue.controller import Phase
from voiceguide.dialogue.events import (
    AnswerGiven,
    Count,
    HaltSpeech,
    Heard,
    InputEvent,
    NoMatch,
    OutputEvent,
    Route,
    RouteTo,
    Silence,
    Speak,
    Tick,
)
from voiceguide.dialogue.intents import Answer, Intent

BOOK = content().grammars
QUESTIONS = [q.id for q in content().screening.questions]
NO_MIN = 0.5


def _norm(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("'", "")
    return " ".join(re.sub(r"[^a-z0-9\s]+", " ", text).split())


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(_norm(w)) for w in sorted(words, key=len, reverse=True))


_FILLER = _alternation(BOOK.understanding.fillers)
#: Per question: an utterance made only of no-phrases (the grammar's, and the question's
#: own whole-sentence "no" answers such as "i can walk") and fillers.
ONLY_NO = {
    q.id: re.compile(
        rf"^(?:(?:{_alternation([*BOOK.phrases['no'], *q.answers.no])}|{_FILLER})(?: |$))+$"
    )
    for q in content().screening.questions
}
_EMERGENCY = re.compile(rf"(?:^| )(?:{_alternation(BOOK.phrases['emergency'])})(?: |$)")
_PAIN = re.compile(rf"(?:^| )(?:{_alternation(BOOK.phrases['pain'])})(?: |$)")
_STOP = {_norm(p) for p in BOOK.phrases["stop"]}
QUESTION_ANSWERS = sorted(
    {p for q in content().screening.questions for p in [*q.answers.yes, *q.answers.no]}
)


def is_confident_no(event: InputEvent, qid: str) -> bool:
    if not isinstance(event, Heard) or event.confidence < NO_MIN:
        return False
    if has_emergency_word(event):
        return False
    only_no = ONLY_NO[qid]
    if event.intent is not None:
        return event.intent is Intent.NO and (
            not event.text or bool(only_no.match(_norm(event.text)))
        )
    return bool(only_no.match(_norm(event.text)))


def has_emergency_word(event: InputEvent) -> bool:
    return isinstance(event, Heard) and (
        event.intent is Intent.EMERGENCY or bool(_EMERGENCY.search(_norm(event.text)))
    )


def is_pain(event: InputEvent) -> bool:
    if not isinstance(event, Heard):
        return False
    return event.intent is Intent.PAIN or bool(_PAIN.search(_norm(event.text)))


def is_stop(event: InputEvent) -> bool:
    if not isinstance(event, Heard) or is_pain(event):
        return False
    return event.intent is Intent.STOP or _norm(event.text) in _STOP


def counts_out_of_place(out: list[OutputEvent], before: Phase, after: Phase) -> bool:
    """Counts where there must be none. Only a coach that was counting may count, up to
    the moment it asks for "ready" after the next setup (and not at all after that)."""
    counts = [i for i, e in enumerate(out) if isinstance(e, Count)]
    if not counts:
        return False
    if before is not Phase.COACHING or after is not Phase.SETUP:
        return True
    waits = [i for i, e in enumerate(out) if isinstance(e, Speak) and e.prompt == "ready_wait"]
    return not waits or counts[-1] > waits[-1]


def words(intent: str) -> st.SearchStrategy[str]:
    return st.sampled_from(BOOK.phrases[intent])


VOCAB = sorted({w for ps in BOOK.phrases.values() for p in ps for w in p.split()})
WORD_SALAD = st.lists(
    st.sampled_from([*VOCAB, "um", "maybe", "but", "not", "the", "leg", "hip", "kind", "of"]),
    min_size=1,
    max_size=5,
).map(" ".join)

TEXT = st.one_of(
    words("yes"),
    words("no"),
    words("no").map(lambda w: f"um {w}"),
    words("no").map(lambda w: f"{w}, but actually yes"),
    words("yes").map(lambda w: f"{w} I think, not sure"),
    words("emergency"),
    words("emergency").map(lambda w: f"no {w}"),
    words("pain"),
    st.sampled_from(QUESTION_ANSWERS),
    st.sampled_from(QUESTION_ANSWERS).map(lambda w: f"no {w}"),
    st.sampled_from(QUESTION_ANSWERS).map(lambda w: f"yes {w}"),
    st.sampled_from(
        [
            p
            for i in (
                "pause",
                "resume",
                "repeat",
                "skip",
                "stop",
                "slower",
                "faster",
                "louder",
                "quieter",
                "help",
                "end",
                "quiet",
                "false_alarm",
            )
            for p in BOOK.phrases[i]
        ]
    ),
    WORD_SALAD,
    st.text(max_size=20),
)

EVENTS: st.SearchStrategy[InputEvent] = st.one_of(
    st.builds(Heard, TEXT, confidence=st.floats(0, 1)),
    st.builds(
        Heard,
        st.just(""),
        intent=st.sampled_from(list(Intent)),
        confidence=st.floats(0, 1),
        source=st.just("asr"),
    ),
    st.builds(NoMatch, st.sampled_from(["out_of_grammar", "low_score", "noise"])),
    st.just(Silence()),
)


class SessionMachine(RuleBasedStateMachine):
    """Random users against the real dialogue, with rules checked after every step."""

    def __init__(self) -> None:
        super().__init__()
        self.d = Driver(seed=0)
        self.confident_nos: list[str] = []  # question ids passed with an independent confident no
        self.unclear_run = 0
        self.halted = False

    def _send(self, event: InputEvent, dt: float) -> list[OutputEvent]:
        before = self.d.dialogue.phase
        qid = self.d.dialogue.current_question_id
        out = self.d.send(event, dt)
        after = self.d.dialogue.phase
        note_event(f"phase {after.value}")
        routes = [e.to for e in out if isinstance(e, Route)]

        # Rule 3: emergency words work from every state.
        if has_emergency_word(event) and before is not Phase.ENDED:
            assert after is Phase.EMERGENCY, (event, before, out)
            if before is not Phase.EMERGENCY:
                assert RouteTo.EMERGENCY in routes

        # The way back from the emergency route is the whole screening, never coaching.
        if before is Phase.EMERGENCY:
            assert after in (Phase.EMERGENCY, Phase.SCREENING, Phase.ENDED), (event, out)
            assert RouteTo.COACHING not in routes
        if RouteTo.SCREENING in routes:
            assert before is Phase.EMERGENCY and after is Phase.SCREENING, (event, out)
            assert self.d.dialogue.current_question_id == QUESTIONS[0]
            self.confident_nos = []
            self.unclear_run = 0

        if before is Phase.SCREENING and qid is not None:
            no_answers = [e for e in out if isinstance(e, AnswerGiven) and e.value is Answer.NO]
            # Rule 1 (per step): a "no" is only recorded for an independently confident no.
            if no_answers:
                assert is_confident_no(event, qid), (event, out)
                self.confident_nos.append(qid)
            # Rule 2: "yes" to a red flag goes to emergency.
            if any(isinstance(e, AnswerGiven) and e.value is Answer.YES for e in out):
                assert RouteTo.EMERGENCY in routes
            unclear = any(isinstance(e, AnswerGiven) and e.value is Answer.UNCLEAR for e in out)
            if unclear:
                self.unclear_run += 1
                if self.unclear_run >= 2:
                    assert after is Phase.EMERGENCY, (event, out)
            elif no_answers:
                self.unclear_run = 0

        # Rule 1 (end to end): coaching only after a confident no to every question.
        if RouteTo.COACHING in routes:
            assert self.confident_nos == QUESTIONS, self.confident_nos

        # Rule 4: pain or stop during an exercise halts the count at once; pain asks
        # about the pain, "stop" offers to resume or finish.
        exercising = before in (Phase.COACHING, Phase.SETUP)
        if exercising and (is_pain(event) or is_stop(event)) and not has_emergency_word(event):
            assert after is (Phase.PAIN_CHECK if is_pain(event) else Phase.PAUSED), (event, out)
            assert any(isinstance(e, HaltSpeech) for e in out)
            assert not any(isinstance(e, Count) for e in out)
            self.halted = True
        if after is Phase.COACHING:
            self.halted = False
        if self.halted or after is not Phase.COACHING:
            assert not counts_out_of_place(out, before, after), (before, after, event, out)
        return out

    def _ticks(self, dt: float) -> None:
        before = self.d.dialogue.phase
        got = self.d.run_until(self.d.now + dt)
        after = self.d.dialogue.phase
        if self.halted or after is not Phase.COACHING:
            assert not counts_out_of_place(got, before, after), got

    @rule(event=EVENTS, dt=st.floats(0.0, 3.0))
    def user_says(self, event: InputEvent, dt: float) -> None:
        self._send(event, dt)

    @rule(dt=st.floats(0.0, 30.0))
    def time_passes(self, dt: float) -> None:
        self._send(Tick(), dt)

    @precondition(lambda self: self.d.dialogue.phase is Phase.SCREENING)
    @rule(no=words("no"), conf=st.floats(0.5, 1.0))
    def confident_no(self, no: str, conf: float) -> None:
        # Biases the walk past the screening so the coaching rules get exercised too.
        self._send(Heard(no, confidence=conf), 0.5)

    @precondition(lambda self: self.d.dialogue.phase in (Phase.COACHING, Phase.SETUP))
    @rule(dt=st.floats(0.5, 20.0), word=st.sampled_from(["it hurts", "stop", "ouch", "pain"]))
    def pain_mid_exercise(self, dt: float, word: str) -> None:
        self._ticks(dt)
        self._send(Heard(word), 0.01)

    @precondition(
        lambda self: (
            self.d.dialogue.phase
            in (Phase.COACHING, Phase.SETUP, Phase.PAUSED, Phase.PAIN_CHECK, Phase.EMERGENCY)
        )
    )
    @rule(
        dt=st.floats(0.0, 15.0),
        word=st.sampled_from(
            [
                "pause",
                "resume",
                "skip",
                "repeat",
                "slower",
                "faster",
                "louder",
                "no",
                "help",
                "what can I say",
                "I fell",
                "I can't move",
                "call for help",
                "emergency",
                "ready",
                "stop",
                "finish",
                "I called",
                "false alarm",
                "I'm okay",
            ]
        ),
    )
    def coaching_command(self, dt: float, word: str) -> None:
        self._ticks(dt)
        self._send(Heard(word), 0.01)

    @invariant()
    def counts_only_while_coaching(self) -> None:
        # Since the screening last (re)started, nothing has been counted.
        if self.d.dialogue.phase in (Phase.SCREENING, Phase.NOT_STARTED):
            starts = [i for i, e in enumerate(self.d.out) if isinstance(e, Route)]
            since = starts[-1] if starts else 0
            assert not any(isinstance(e, Count) for e in self.d.out[since:])


SessionMachine.TestCase.settings = settings(stateful_step_count=40)
TestSessions = SessionMachine.TestCase


# ---------------------------------------------------------------- exhaustive screening

ANSWERS: dict[str, tuple[InputEvent, float]] = {
    "yes": (Heard("yes"), 0.5),
    "no": (Heard("no"), 0.5),
    "low_no": (Heard("no", confidence=0.2), 0.5),
    "asr_low_no": (Heard("", intent=Intent.NO, confidence=0.3, source="asr"), 0.5),
    "unclear": (Heard("maybe"), 0.5),
    "mixed": (Heard("no, but actually yes"), 0.5),
    "nomatch": (NoMatch("out_of_grammar"), 0.5),
    "silence": (Silence(), 0.5),
    "timeout": (Tick(), 1000.0),
    "emergency": (Heard("I can't move"), 0.5),
    "repeat": (Heard("repeat"), 0.5),
    "help": (Heard("what can I say"), 0.5),
    "louder": (Heard("louder"), 0.5),
}
UNCLEAR = {"low_no", "asr_low_no", "unclear", "mixed", "nomatch", "silence", "timeout"}
NEUTRAL = {"repeat", "help", "louder"}


def _fork(d: Driver) -> Driver:
    # Share the immutable content; copy only the dialogue's own state.
    c = d.dialogue.content
    memo = {id(c): c, id(d.dialogue.understander): d.dialogue.understander}
    return copy.deepcopy(d, memo)


def _check_path(path: tuple[str, ...], d: Driver) -> str:
    phase = d.dialogue.phase
    routes = [e.to for e in d.out if isinstance(e, Route)]
    if phase is Phase.COACHING:
        assert routes == [RouteTo.COACHING]
        assert path.count("no") == len(QUESTIONS), path
        assert "yes" not in path and "emergency" not in path, path
        meaningful = [a for a in path if a not in NEUTRAL]
        runs = [len(list(g)) for k, g in itertools.groupby(meaningful, UNCLEAR.__contains__) if k]
        assert all(r < 2 for r in runs), path
        return "coaching"
    assert phase is Phase.EMERGENCY, (path, phase)
    assert routes == [RouteTo.EMERGENCY], (path, routes)
    meaningful = [a for a in path if a not in NEUTRAL]
    last = meaningful[-1]
    assert last in ("yes", "emergency") or meaningful[-2:] == [
        x for x in meaningful[-2:] if x in UNCLEAR
    ], path
    return "emergency"


def _walk(alphabet: list[str], path: tuple[str, ...], d: Driver, tally: dict[str, int]) -> None:
    for name in alphabet:
        if name in NEUTRAL and path and path[-1] in NEUTRAL:
            continue  # One neutral request in a row keeps the tree finite.
        child = _fork(d)
        event, dt = ANSWERS[name]
        child.send(event, dt)
        new = (*path, name)
        if child.dialogue.phase is Phase.SCREENING:
            _walk(alphabet, new, child, tally)
        else:
            tally[_check_path(new, child)] += 1


def test_every_screening_answer_sequence_routes_safely() -> None:
    """Every sequence of answers over a core alphabet, walked to its route decision."""
    tally = {"coaching": 0, "emergency": 0}
    _walk(["yes", "no", "low_no", "nomatch", "silence", "emergency"], (), Driver(seed=1), tally)
    # Per question: no | (low_no | nomatch | silence) no  -> 4 ** 6 ways to coaching.
    assert tally["coaching"] == 4 ** len(QUESTIONS)
    assert tally["emergency"] > tally["coaching"]


def test_every_screening_state_and_answer_is_safe() -> None:
    """All answer kinds from every reachable screening state (explicit-state check)."""
    seen: set[tuple[int, int, str]] = {(0, 0, "")}
    frontier = [((), Driver(seed=2))]
    transitions = 0
    while frontier:
        path, d = frontier.pop()
        for name, (event, dt) in ANSWERS.items():
            child = _fork(d)
            child.send(event, dt)
            transitions += 1
            new = (*path, name)
            dl = child.dialogue
            if dl.phase is Phase.SCREENING:
                key = (dl.question, dl.unclear, name if name in NEUTRAL else "")
                if key not in seen:
                    seen.add(key)
                    frontier.append((new, child))
            else:
                _check_path(new, child)
    # Six questions, each with 0 or 1 unclear answers so far, reached plainly or after
    # each neutral request.
    assert len(seen) == len(QUESTIONS) * 2 * (1 + len(NEUTRAL))
    assert transitions == len(seen) * len(ANSWERS)
