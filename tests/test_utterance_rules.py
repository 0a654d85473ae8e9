"""The per-utterance rules of ``runtime/utterance.py``, text in and result out: which
grammar an utterance is decoded with, what the dialogue is told, and which rejections
are dropped. Edges are pinned exactly (mutation testing found them untested)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tests.helpers import content
from voiceguide.audio.vad import FRAME, RATE, Segment
from voiceguide.dialogue.events import Heard, NoMatch
from voiceguide.dialogue.intents import Intent
from voiceguide.runtime.utterance import (
    RETRY_MAX_VOICE_S,
    RETRY_WINDOW_S,
    Decision,
    decide,
    is_overlapped,
    judge,
    listening_grammar,
    over_speech_grammar,
    superseded,
)
from voiceguide.speech.recognizer import Recognition, Samples

COUNTS = frozenset(content().prompts.count_words)
NO = Recognition("no", Intent.NO, 1.0, True, "", ("no",), "test")
REJECTED = Recognition("note", None, 0.2, False, "out_of_grammar", ("note",), "test")
HELP = Recognition("help", Intent.EMERGENCY, 1.0, True, "", ("help",), "test")


def test_overlap_is_more_than_the_share_not_equal_to_it() -> None:
    assert not is_overlapped([True] * 3 + [False] * 7)  # exactly 30 %: not over the guide
    assert is_overlapped([True] * 4 + [False] * 6)
    assert not is_overlapped([])


def test_over_speech_grammar_uses_the_counting_one_only_while_counting() -> None:
    c = content()
    coaching = c.grammars.grammars["coaching"]
    assert coaching.over_counts and coaching.over_counts != coaching.over_speech
    assert over_speech_grammar(c, "coaching", True) == coaching.over_counts
    assert over_speech_grammar(c, "coaching", False) == coaching.over_speech
    yes_no = c.grammars.grammars["yes_no"]  # no counting grammar: the over-speech one
    assert over_speech_grammar(c, "yes_no", True) == yes_no.over_speech


def test_listening_grammar_edges() -> None:
    c = content()
    one_frame = np.zeros(FRAME, dtype=np.int16)
    assert listening_grammar(c, one_frame[:-1], "yes_no", False, frozenset(), COUNTS) is None
    assert listening_grammar(c, one_frame, "yes_no", False, frozenset(), COUNTS) == "yes_no"
    coaching = c.grammars.grammars["coaching"]
    # Counting when every word being said is a count word, all of them included.
    said = listening_grammar(c, one_frame, "coaching", True, COUNTS, COUNTS)
    assert said == coaching.over_counts
    talk = listening_grammar(c, one_frame, "coaching", True, COUNTS | {"lift"}, COUNTS)
    assert talk == coaching.over_speech


def test_judge_keeps_the_result_and_the_grammar_in_every_branch() -> None:
    plain = judge(NO, "yes_no", False, frozenset())
    assert plain == Decision(NO, plain.event, grammar="yes_no")
    assert isinstance(plain.event, Heard) and plain.event.intent is Intent.NO
    barge = judge(HELP, "barge_in", True, frozenset({"lift", "your"}))
    assert barge.result is HELP and barge.grammar == "barge_in" and barge.barge_in
    echo = judge(Recognition("lift", None, 1.0, True), "barge_in", True, frozenset({"lift"}))
    assert echo.result is not None and echo.grammar == "barge_in" and echo.echo
    assert echo.event is None


@dataclass
class Recording:
    """A recognizer that says what it was asked, and answers ``result``."""

    result: Recognition
    asked: list[tuple[str, frozenset[str]]] = field(default_factory=list)
    name: str = "recording"
    language: str = "en"

    def recognize(
        self, samples: Samples, grammar: str, speaking: frozenset[str] = frozenset()
    ) -> Recognition:
        self.asked.append((grammar, speaking))
        return self.result


def test_decide_hands_the_guides_words_on_only_when_spoken_over() -> None:
    c = content()
    audio = np.zeros(4 * FRAME, dtype=np.int16)
    rec = Recording(NO)
    d = decide(rec, c, audio, "yes_no", overlapped=False, speaking=frozenset({"fall"}))
    assert rec.asked == [("yes_no", frozenset())] and d.grammar == "yes_no"
    rec = Recording(HELP)
    d = decide(rec, c, audio, "yes_no", overlapped=True, speaking=frozenset({"fall"}))
    over = c.grammars.grammars["yes_no"].over_speech
    assert rec.asked == [(over, frozenset({"fall"}))] and d.grammar == over
    short = decide(Recording(NO), c, audio[: FRAME - 1], "yes_no")
    assert short == Decision(None, None, grammar="yes_no")


def test_superseded_edges() -> None:
    rejected = judge(REJECTED, "yes_no", False, frozenset())
    assert isinstance(rejected.event, NoMatch)
    longest = int(RETRY_MAX_VOICE_S * RATE)
    window = int(RETRY_WINDOW_S * RATE)

    def cut(voiced: int) -> Segment:
        return Segment(0, 8_000 + voiced, 8_000 + voiced + 3_000, 8_000)

    def next_at(at: int) -> Segment:
        return Segment(at - 3_840, at + 8_000, 0, at)

    edge = cut(longest)
    assert superseded(rejected, edge, next_at(edge.decided_at + window))
    assert not superseded(rejected, edge, next_at(edge.decided_at + window + 1))
    assert not superseded(rejected, cut(longest + 1), next_at(edge.decided_at))
    assert not superseded(rejected, edge, None)
    accepted = judge(NO, "yes_no", False, frozenset())
    assert not superseded(accepted, edge, next_at(edge.decided_at))


@dataclass
class ByLength:
    """Rejects short sounds (naming them by their length), accepts long ones as "no"."""

    name: str = "by-length"
    language: str = "en"

    def recognize(
        self, samples: Samples, grammar: str, speaking: frozenset[str] = frozenset()
    ) -> Recognition:
        if len(samples) > RATE:
            return Recognition("no", Intent.NO, 1.0, True)
        return Recognition(str(len(samples)), None, 0.0, False, "out_of_grammar")


def test_decode_as_live_drops_each_rejection_for_the_piece_right_after_it() -> None:
    from tests.voicefakes import buzz
    from voiceguide.runtime.utterance import decode_as_live

    def gap(s: float) -> np.ndarray:
        return np.zeros(int(s * RATE), dtype=np.int16)

    # Two short hums close together, then, much later, a long sound the fake accepts.
    clip = np.concatenate([buzz(0.2), gap(0.3), buzz(0.35), gap(2.0), buzz(1.2)])
    got = decode_as_live(ByLength(), content(), clip, "yes_no", np.random.default_rng(0))
    # The first hum gave way to the second; the second stands (nothing followed at once).
    assert [d.result.accepted for d in got if d.result] == [False, True], got
    first = got[0].result
    assert first is not None and int(first.text) > int(0.35 * RATE), first
