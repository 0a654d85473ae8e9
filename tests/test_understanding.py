"""Free-text understanding: text in, intent out (hassil style), with the safety asymmetry."""

from __future__ import annotations

import hypothesis.strategies as st
import pytest
from hypothesis import given

from tests.helpers import content
from voiceguide.dialogue.intents import Intent
from voiceguide.dialogue.understanding import Understander, normalize

U = Understander(content().grammars)
NO_WORDS = {w for p in content().grammars.phrases["no"] for w in normalize(p)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yes", Intent.YES),
        ("Yeah.", Intent.YES),
        ("yep", Intent.YES),
        ("sure", Intent.YES),
        ("correct", Intent.YES),
        ("yes, it really is", Intent.YES),
        ("no", Intent.NO),
        ("Nope!", Intent.NO),
        ("not at all", Intent.NO),
        ("I don't think so", Intent.NO),
        ("I don\u2019t think so", Intent.NO),
        ("um, no", Intent.NO),
        ("no no", Intent.NO),
        ("no, but actually yes", None),
        ("yes no", None),
        ("maybe", None),
        ("I guess so", None),
        ("not sure", None),
        ("I don't know", None),
        ("no I think", None),
        ("know", None),
        ("", None),
        ("...", None),
        ("no, help me", Intent.EMERGENCY),
        ("yeah I fell", Intent.EMERGENCY),
        ("I can't move", Intent.EMERGENCY),
        ("could you call for help", Intent.EMERGENCY),
        ("repeat", Intent.REPEAT),
        ("pause", None),  # not an answer to a yes/no question
        # Natural answers people give.
        ("absolutely not", Intent.NO),
        ("Certainly not.", Intent.NO),
        ("of course not", Intent.NO),
        ("not really", Intent.NO),
        ("well, I don't think so", Intent.NO),
        ("of course", Intent.YES),
        ("certainly", Intent.YES),
        ("absolutely", Intent.YES),
        ("yes, definitely", Intent.YES),
        # Mixed or self-correcting answers stay unclear, never the opposite.
        ("yes... actually no", None),
        ("no, actually yes", None),
        ("no wait yes", None),
        ("of course, not really", None),
        ("absolutely, no", None),
        ("not really, yes", None),
        ("certainly not sure", None),
        ("I can walk", None),  # a sentence answer belongs to its own question only
        ("louder", Intent.LOUDER),  # applied, then the question is asked again
        ("slower", Intent.SLOWER),
    ],
)
def test_yes_no_answers(text: str, expected: Intent | None) -> None:
    assert U.understand(text, "yes_no") is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pause", Intent.PAUSE),
        ("please pause", Intent.PAUSE),
        ("resume", Intent.RESUME),
        ("skip", Intent.SKIP),
        ("stop", Intent.STOP),
        ("slower", Intent.SLOWER),
        ("louder", Intent.LOUDER),
        ("it hurts", Intent.PAIN),
        ("ouch that kind of hurts", Intent.PAIN),
        ("no pain at all", Intent.PAIN),  # pain words halt first; the pain check sorts it out
        ("help", Intent.EMERGENCY),
        ("what can I say", Intent.HELP),
        ("the weather is nice", None),
    ],
)
def test_coaching_commands(text: str, expected: Intent | None) -> None:
    assert U.understand(text, "coaching") is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I can't stand", Intent.YES),
        ("I can walk", Intent.NO),
        ("no, I can walk", Intent.NO),
        ("yes, I can walk", None),
        ("I can walk but it hurts", None),
        ("I can't walk", Intent.YES),
        ("I can't move", Intent.EMERGENCY),
    ],
)
def test_whole_sentence_answers_of_one_question(text: str, expected: Intent | None) -> None:
    question = next(q for q in content().screening.questions if q.id == "cannot_bear_weight")
    assert U.understand(text, "yes_no", question.answers) is expected


_BOOK = content().grammars
_FILLERS = [normalize(f) for f in _BOOK.understanding.fillers]
_NO_PHRASES = [normalize(p) for p in _BOOK.phrases["no"]]
_PIECES = sorted(
    {" ".join(p) for p in _FILLERS + _NO_PHRASES}
    | {p for i in ("yes", "emergency", "repeat", "pain") for p in _BOOK.phrases[i]}
    | set(_BOOK.understanding.hedges + _BOOK.understanding.negators)
    | {"know", "go", "now", "nobody", "note", "not", "at", "all", "way", "it", "is"}
)


def _only_no(tokens: tuple[str, ...]) -> bool:
    """Independently of the understander: tokens split into no-phrases and fillers, with
    at least one no-phrase."""
    ends = {0: False}  # reachable split point -> a no-phrase used on the way
    for i in range(len(tokens)):
        if i not in ends:
            continue
        for piece, is_no in [(f, False) for f in _FILLERS] + [(p, True) for p in _NO_PHRASES]:
            if piece and tokens[i : i + len(piece)] == piece:
                j = i + len(piece)
                ends[j] = ends.get(j, False) or ends[i] or is_no
    return ends.get(len(tokens), False)


@given(
    st.one_of(
        st.text(max_size=40),
        st.lists(st.sampled_from(_PIECES), min_size=1, max_size=5).map(" ".join),
        st.lists(
            st.sampled_from(sorted({" ".join(p) for p in _FILLERS + _NO_PHRASES})),
            min_size=1,
            max_size=4,
        ).map(", ".join),
    )
)
def test_no_needs_nothing_but_no_words(text: str) -> None:
    """ "No" comes back exactly when the text is made of no-phrases and fillers alone: any
    other word makes it something else or unclear, and a plain "no" is never missed."""
    result = U.understand(text, "yes_no")
    tokens = normalize(text)
    assert (result is Intent.NO) == _only_no(tokens), (text, result)
    if result is Intent.NO:
        assert set(tokens) <= NO_WORDS | {t for f in _FILLERS for t in f}


@given(
    st.lists(
        st.sampled_from(["yes", "yeah", "no", "nope", "but", "maybe", "not", "sure", "um"]),
        min_size=1,
        max_size=6,
    )
)
def test_mixed_answers_are_never_no(tokens: list[str]) -> None:
    text = " ".join(tokens)
    result = U.understand(text, "yes_no")
    if any(t in {"yes", "yeah", "sure", "maybe", "but"} for t in tokens):
        assert result is not Intent.NO, text


@given(st.sampled_from(content().grammars.phrases["emergency"]), st.text(max_size=15))
def test_emergency_words_win_anywhere(phrase: str, noise: str) -> None:
    for grammar in content().grammars.grammars:
        assert U.understand(f"{noise} {phrase}", grammar) is Intent.EMERGENCY
