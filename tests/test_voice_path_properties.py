"""The safety rules as properties over sessions fed the way the voice path feeds them.

``test_safety_properties.py`` drives the dialogue with typed-style events. Here every
input takes the hands-free route instead: a recognizer result (``Recognition``) is turned
into a dialogue event by the runtime's own mapping (``runtime/voice.py``), so the dialogue
sees text *and* the recognizer's intent and score, and rejected results that still carry
text ("no" at score 0.5). Two sources of results:

* PocketSphinx's real adapter, with its decoder's best path and n-best list generated
  (every lattice shape: rivals, repeats, fillers, empty entries);
* results of any shape a recognizer may return: accepted with a score from 0 to 1, or
  rejected for any reason with any text, score and even an intent.

The oracle is independent of the code under test: whether an input is a confident "no"
is decided here from the grammar data and the recognizer's contract.
"""

from __future__ import annotations

import hypothesis.strategies as st
from hypothesis import event as note_event
from hypothesis import given, settings
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

from tests.helpers import Driver, content
from tests.voicefakes import decode_scripted, runtime_sphinx
from voiceguide.audio.vad import Segment
from voiceguide.dialogue.controller import Phase
from voiceguide.dialogue.events import AnswerGiven, Heard, OutputEvent, Route, RouteTo, Tick
from voiceguide.dialogue.intents import Answer, Intent
from voiceguide.runtime import voice
from voiceguide.runtime.utterance import RETRY_MAX_VOICE_S, RETRY_WINDOW_S, judge, superseded
from voiceguide.speech.recognizer import Recognition

BOOK = content().grammars
QUESTIONS = [q.id for q in content().screening.questions]
#: The dialogue's threshold for "no", and the top decodes PocketSphinx must agree over.
NO_MIN = 0.5
TOP_N = 4
SPHINX = runtime_sphinx()

# What a speech engine listens for, per grammar, from the grammar data alone.
HEARABLE = {name: BOOK.acoustic_phrase_map(name) for name in BOOK.grammars}
NO_PHRASES = {p for p, i in HEARABLE["yes_no"].items() if i is Intent.NO}
ALL_PHRASES = sorted({(p, i) for m in HEARABLE.values() for p, i in m.items()})
FILLERS = ["<sil>", "<s>", "</s>", "[NOISE]"]
OTHER_WORDS = ["go", "note", "know", "oh", "yellow", "so", "low", "now", "no go", "nobody"]

# ---------------------------------------------------------------- lattices for PocketSphinx

PHRASE = st.one_of(
    st.sampled_from(sorted(NO_PHRASES)),
    st.sampled_from([p for p, _ in ALL_PHRASES]),
    st.sampled_from(OTHER_WORDS),
)
DECODE = st.one_of(
    PHRASE,
    st.tuples(st.sampled_from(FILLERS), PHRASE).map(" ".join),
    st.tuples(PHRASE, st.sampled_from(FILLERS)).map(" ".join),
)
NO_PHRASE = st.sampled_from(sorted(NO_PHRASES))
LATTICE = st.one_of(
    # A decode whose list agrees: the shape that clears a question.
    st.builds(lambda p, n: (p, [p] * n), NO_PHRASE, st.integers(1, 6)),
    # A "no" with one rival somewhere in its list: the shape the agreement rule is for.
    st.builds(
        lambda p, rival, before, after: (p, [p] * before + [rival] + [p] * after),
        NO_PHRASE,
        PHRASE.filter(lambda w: w not in NO_PHRASES),
        st.integers(0, 4),
        st.integers(0, 4),
    ),
    st.tuples(st.one_of(st.none(), DECODE), st.lists(st.one_of(st.none(), DECODE), max_size=7)),
)


def _words(text: str) -> str:
    return " ".join(w for w in text.split() if not w.startswith(("<", "[")))


def lattice_is_confident_no(best: str | None, nbest: list[str | None]) -> bool:
    """The best path is a "no" phrase and each of the first TOP_N decodes is one too."""
    top = [_words(h) for h in nbest[:TOP_N] if h is not None]
    top = [h for h in top if h]
    return (
        best is not None
        and _words(best) in NO_PHRASES
        and bool(top)
        and all(h in NO_PHRASES for h in top)
    )


# ---------------------------------------------------------------- results of any shape

REASONS = ["ambiguous_no", "low_score", "not_a_whole_phrase", "out_of_grammar", "weak_barge_in"]
SCORE = st.one_of(st.floats(0, 1), st.sampled_from([0.0, 0.25, 1 / 3, 0.49, 0.5, 0.75, 1.0]))
ACCEPTED = st.builds(
    lambda pi, score, engine: Recognition(pi[0], pi[1], score, True, "", (pi[0],), engine),
    st.sampled_from(ALL_PHRASES),
    SCORE,
    st.sampled_from(["vosk", "pocketsphinx", "answer-model"]),
)
REJECTED = st.builds(
    Recognition,
    st.one_of(st.just(""), PHRASE, st.sampled_from(sorted(NO_PHRASES))),
    st.one_of(st.none(), st.sampled_from(list(Intent))),  # an intent left on by mistake too
    SCORE,
    st.just(False),
    st.one_of(st.sampled_from([*REASONS, "silence", "no_hypothesis"]), st.text(max_size=8)),
    st.lists(PHRASE, max_size=3).map(tuple),
    st.sampled_from(["vosk", "pocketsphinx"]),
)


def result_is_confident_no(r: Recognition) -> bool:
    return r.accepted and r.intent is Intent.NO and r.text in NO_PHRASES and r.score >= NO_MIN


class VoiceSessionMachine(RuleBasedStateMachine):
    """Random hands-free users against the real dialogue, checked after every step."""

    def __init__(self) -> None:
        super().__init__()
        self.d = Driver(seed=0)
        self.confident_nos: list[str] = []
        self.unclear_run = 0

    def _hear(self, r: Recognition, confident_no: bool, dt: float = 0.5) -> list[OutputEvent]:
        event = voice._event(r)  # the runtime's own mapping
        before, qid = self.d.dialogue.phase, self.d.dialogue.current_question_id
        out = self.d.send(event, dt)
        after = self.d.dialogue.phase
        note_event(f"{type(event).__name__} -> {after.value}")
        answers = [e.value for e in out if isinstance(e, AnswerGiven)]
        routes = [e.to for e in out if isinstance(e, Route)]
        if not r.accepted:  # a rejection is never an answer, whatever text it carries
            assert Answer.NO not in answers and Answer.YES not in answers, (r, out)
            assert after in (before, Phase.EMERGENCY, Phase.ENDED), (r, before, after)
        if r.accepted and r.intent is Intent.EMERGENCY and before is not Phase.ENDED:
            assert after is Phase.EMERGENCY, (r, out)
        if after is Phase.SCREENING and before is not Phase.SCREENING:
            # "False alarm" on the emergency route: the whole screening starts again.
            self.confident_nos, self.unclear_run = [], 0
        if before is Phase.SCREENING and qid is not None:
            if Answer.NO in answers:
                assert confident_no, (r, out)
                self.confident_nos.append(qid)
            if Answer.YES in answers:
                assert RouteTo.EMERGENCY in routes
            if Answer.UNCLEAR in answers:
                self.unclear_run += 1
                assert self.unclear_run < 2 or after is Phase.EMERGENCY, (r, out)
            elif Answer.NO in answers:
                self.unclear_run = 0
        if RouteTo.COACHING in routes:
            assert self.confident_nos == QUESTIONS, self.confident_nos
        return out

    @rule(lattice=LATTICE)
    def pocketsphinx_hears(self, lattice: tuple[str | None, list[str | None]]) -> None:
        best, nbest = lattice
        grammar = self.d.dialogue.grammar or "yes_no"
        r = decode_scripted(SPHINX, best, nbest, grammar)
        self._hear(r, grammar == "yes_no" and lattice_is_confident_no(best, nbest))

    @rule(r=st.one_of(ACCEPTED, REJECTED))
    def any_engine_returns(self, r: Recognition) -> None:
        self._hear(r, result_is_confident_no(r))

    @precondition(lambda self: self.d.dialogue.phase is Phase.SCREENING)
    @rule(phrase=NO_PHRASE, n=st.integers(1, 5))
    def a_clear_no(self, phrase: str, n: int) -> None:
        # Biases the walk past the screening, so reaching coaching is exercised too.
        r = decode_scripted(SPHINX, phrase, [phrase] * n)
        self._hear(r, True)

    @rule(dt=st.floats(0.0, 30.0))
    def time_passes(self, dt: float) -> None:
        before = len(self.d.out)
        self.d.send(Tick(), dt)
        routes = [e.to for e in self.d.out[before:] if isinstance(e, Route)]
        assert RouteTo.COACHING not in routes


VoiceSessionMachine.TestCase.settings = settings(stateful_step_count=30)
TestVoiceSessions = VoiceSessionMachine.TestCase


def test_the_oracle_tells_a_clear_no_from_a_doubted_one() -> None:
    """The independent rule itself, on the shapes that matter most."""
    assert lattice_is_confident_no("no", ["no", "<sil> no", "no"])
    assert not lattice_is_confident_no("no", ["no", "note"])
    assert not lattice_is_confident_no("no", [])
    assert lattice_is_confident_no("no", ["no", "no", "no", "no", "go"])  # only the top four
    assert not result_is_confident_no(Recognition("no", None, 0.5, False, "ambiguous_no"))
    assert not result_is_confident_no(Recognition("no", Intent.NO, 0.49, True))
    assert result_is_confident_no(Recognition("nope", Intent.NO, 0.9, True))


GAP = st.integers(0, 3 * 16_000)  # samples between one cut and the next voice
VOICED = st.integers(3 * 480, 4 * 16_000)  # how long the rejected utterance's voice lasted


@given(r=st.one_of(ACCEPTED, REJECTED), gap=GAP, voiced=VOICED, followed=st.booleans())
def test_only_a_short_rejection_followed_at_once_by_more_speech_is_dropped(
    r: Recognition, gap: int, voiced: int, followed: bool
) -> None:
    """``utterance.superseded``: what the runtime never hands the dialogue. An answer, a
    call for help or anything accepted always reaches it; so does a rejection of an
    utterance longer than RETRY_MAX_VOICE_S; a short one does unless the user's voice
    began again within RETRY_WINDOW_S of it being cut."""
    decision = judge(r, "yes_no", False, frozenset())
    start = 16_000
    cut = Segment(start - 3_840, start + voiced, start + voiced + 3_000, start)
    at = cut.decided_at + gap
    after = Segment(at - 3_840, at + 8_000, 0, at)
    dropped = superseded(decision, cut, after if followed else None)
    short = voiced <= RETRY_MAX_VOICE_S * 16_000
    within = gap <= RETRY_WINDOW_S * 16_000
    assert dropped == (not r.accepted and short and followed and within), (r, gap, voiced)
    if r.accepted:
        assert isinstance(decision.event, Heard)
