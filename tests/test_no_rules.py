"""The voice path's own "no" checks, each pinned by a test that fails without it.

A misheard "no" is the one error that can send an injured person into exercises. Three
layers stand against it on the voice path, and every one is tested here on its own:

1. the engine adapters' result rules: PocketSphinx accepts "no" only when its n-best
   list agrees; Vosk needs a higher word confidence for "no" than for other answers;
2. the runtime's mapping of a ``Recognition`` to a dialogue event (``runtime/voice.py``):
   a rejected result stays rejected even when it carries text;
3. the dialogue, which then treats it as an unclear answer.

The engines' lattices and word confidences are scripted at the library boundary (a fake
decoder in place of ``pocketsphinx.Decoder``, a fake ``vosk`` module), so each rule is
exercised exactly and fast; one test also decodes a real synthetic clip on which the
n-best rule is what stands between the word "note" and a "no".
"""

from __future__ import annotations

import json
import shutil
import time
from io import StringIO
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import numpy as np
import pytest

from tests.helpers import Driver, content
from tests.voicefakes import (
    ScriptedDecoder,
    ScriptedFinder,
    Seg,
    buzz,
    decode_scripted,
    runtime_sphinx,
)
from voiceguide.audio.vad import FRAME, voiced_frames
from voiceguide.dialogue.events import AnswerGiven, Heard, NoMatch
from voiceguide.dialogue.intents import Answer, Intent
from voiceguide.runtime import voice
from voiceguide.runtime.voice import VoiceIO, is_barge_in
from voiceguide.speech import vosk_engine
from voiceguide.speech.pocketsphinx_engine import PocketSphinxRecognizer, _answer_among
from voiceguide.speech.recognizer import Recognition
from voiceguide.speech.rejection import RejectionSettings

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (scripts/setup)"
)


# ---------------------------------------------------------------- PocketSphinx


@pytest.fixture(scope="module")
def sphinx() -> PocketSphinxRecognizer:
    return runtime_sphinx()


def scripted(
    r: PocketSphinxRecognizer, best: str | None, nbest: list[str | None], grammar: str = "yes_no"
) -> Recognition:
    return decode_scripted(r, best, nbest, grammar)


def test_a_no_that_its_nbest_list_doubts_is_rejected(sphinx: PocketSphinxRecognizer) -> None:
    result = scripted(sphinx, "no", ["no", "note"])
    assert not result.accepted
    assert result.intent is None
    assert result.reason == "ambiguous_no"
    # The rejected result keeps what was heard and how far the list agreed.
    assert (result.text, result.score, result.alternatives) == ("no", 0.5, ("no", "note"))


@pytest.mark.parametrize(
    "nbest",
    [
        ["no", "no", "no", "go"],  # the fourth decode already rivals it
        ["no", "nope", "note"],
        ["no", "yes"],
        ["negative", "no", "nope", "yellow"],
    ],
)
def test_any_rival_in_the_top_decodes_makes_a_no_unclear(
    sphinx: PocketSphinxRecognizer, nbest: list[str]
) -> None:
    result = scripted(sphinx, nbest[0], nbest)
    assert not result.accepted and result.intent is None, result
    assert result.reason == "ambiguous_no"


def test_a_no_the_whole_list_agrees_on_is_accepted(sphinx: PocketSphinxRecognizer) -> None:
    result = scripted(sphinx, "no", ["no", "<sil> no", "no <sil>", "nope", "no", "go"])
    assert result.accepted and result.intent is Intent.NO, result
    assert (result.score, result.reason, result.engine) == (1.0, "", "pocketsphinx")
    # Filler tokens are dropped and repeats merged before the list is compared.
    assert result.alternatives == ("no", "nope")


def test_a_lone_decode_that_is_no_is_enough(sphinx: PocketSphinxRecognizer) -> None:
    """A thin lattice with one entry: that entry is the whole list, and it agrees."""
    result = scripted(sphinx, "no", ["no"])
    assert result.accepted and result.intent is Intent.NO and result.score == 1.0, result


def test_only_the_top_decodes_count(sphinx: PocketSphinxRecognizer) -> None:
    """``no_nbest`` entries of the lattice are looked at: a rival fifth does not count."""
    assert RejectionSettings().no_nbest == 4
    result = scripted(sphinx, "no", ["no", "no", "no", "no", "go"])
    assert result.accepted and result.intent is Intent.NO, result


def test_empty_entries_of_a_thin_lattice_are_skipped(sphinx: PocketSphinxRecognizer) -> None:
    result = scripted(sphinx, "no", [None, "no", None, "no"])
    assert result.accepted and result.intent is Intent.NO and result.score == 1.0, result
    # ... but they still use up places in the top N: the rival is in the first four.
    doubted = scripted(sphinx, "no", [None, "no", "go"])
    assert doubted.reason == "ambiguous_no"


def test_a_doubted_yes_still_counts_as_yes(sphinx: PocketSphinxRecognizer) -> None:
    """The asymmetry: a wrong "yes" only leads to the safe route."""
    result = scripted(sphinx, "yes", ["yes", "guess", "yet"])
    assert result.accepted and result.intent is Intent.YES, result
    assert result.score == pytest.approx(1 / 3)


def test_a_doubted_help_still_counts(sphinx: PocketSphinxRecognizer) -> None:
    result = scripted(sphinx, "help", ["help", "hello"])
    assert result.accepted and result.intent is Intent.EMERGENCY, result


@pytest.mark.parametrize(
    ("best", "reason", "text"),
    [
        (None, "no_hypothesis", ""),
        ("", "no_hypothesis", ""),
        ("go", "out_of_grammar", "go"),
        ("no go", "not_a_whole_phrase", "no go"),
    ],
)
def test_garbage_partial_and_empty_decodes_are_rejected(
    sphinx: PocketSphinxRecognizer, best: str | None, reason: str, text: str
) -> None:
    result = scripted(sphinx, best, [best] if best else [])
    assert (result.accepted, result.intent, result.reason, result.text) == (
        False,
        None,
        reason,
        text,
    )
    assert result.score == 0.0
    assert result.alternatives == ((best,) if best else ())
    assert result.engine == "pocketsphinx"


def test_over_the_guide_every_intent_needs_the_whole_list(
    sphinx: PocketSphinxRecognizer,
) -> None:
    """A barge-in grammar is strict for every intent, not only "no"."""
    weak = scripted(sphinx, "stop", ["stop", "top"], grammar="barge_in")
    assert (weak.accepted, weak.reason) == (False, "weak_barge_in"), weak
    assert (weak.text, weak.score, weak.alternatives) == ("stop", 0.5, ("stop", "top"))
    firm = scripted(sphinx, "stop", ["stop", "stop"], grammar="barge_in")
    assert firm.accepted and firm.intent is Intent.STOP, firm
    assert firm.reason == ""


def over_the_guide(
    r: PocketSphinxRecognizer, segs: list[Seg] | None, best: str, nbest: list[str | None]
) -> tuple[Recognition, ScriptedFinder, ScriptedDecoder]:
    """A barge-in decode while the guide says "lower your hips": both passes scripted."""
    finder, judge = ScriptedFinder(segs), ScriptedDecoder(best, nbest)
    real = r._finder, r._decoder
    r._finder, r._decoder = finder, judge  # type: ignore[assignment]
    try:
        audio = buzz(2.0)
        return r.recognize(audio, "barge_in", frozenset({"lower", "your", "hips"})), finder, judge
    finally:
        r._finder, r._decoder = real


def test_the_guides_own_words_alone_are_its_echo(sphinx: PocketSphinxRecognizer) -> None:
    segs = [Seg("<sil>", 0, 10), Seg("lower", 11, 40), Seg("your(2)", 41, 60), Seg("hips", 61, 90)]
    result, _, _ = over_the_guide(sphinx, segs, "stop", ["stop"] * 4)  # the judge is not asked
    assert (result.accepted, result.text, result.reason) == (False, "", "out_of_grammar")
    assert (result.score, result.alternatives, result.engine) == (0.0, (), "pocketsphinx")


def test_an_answer_among_the_guides_words_is_judged_on_its_own(
    sphinx: PocketSphinxRecognizer,
) -> None:
    segs = [Seg("lower", 0, 40), Seg("stop", 100, 130), Seg("hips", 140, 170)]
    result, finder, _ = over_the_guide(sphinx, segs, "lower stop", ["lower stop"] * 3)
    assert finder.heard_samples == 32_000  # the first pass hears it all
    assert result.accepted and (result.text, result.intent) == ("stop", Intent.STOP), result
    doubted, _, _ = over_the_guide(sphinx, segs, "stop", ["stop", "top"])
    assert (doubted.accepted, doubted.reason) == (False, "weak_barge_in")
    no_path, _, _ = over_the_guide(sphinx, None, "stop", ["stop"])  # judged on all of it
    assert no_path.accepted and no_path.intent is Intent.STOP


def test_silence_is_rejected_before_any_decoding(sphinx: PocketSphinxRecognizer) -> None:
    """The decoder would say "no"; silence never reaches it."""
    quiet = decode_scripted(sphinx, "no", ["no"] * 4, audio=np.zeros(16_000, dtype=np.int16))
    assert (quiet.accepted, quiet.reason, quiet.text) == (False, "silence", "")
    assert (quiet.score, quiet.engine) == (0.0, "pocketsphinx")
    with pytest.raises(KeyError, match="no grammar named"):
        sphinx.recognize(buzz(), "nonsense")


def test_four_voiced_frames_are_the_least_an_answer_has() -> None:
    """The silence gate's edge: ``min_voiced_frames`` voiced frames pass, one fewer do not."""
    settings = RejectionSettings()
    need = settings.min_voiced_frames
    tried = set()
    for frames in range(1, 40):
        audio = np.concatenate([np.zeros(4800, dtype=np.int16), buzz(frames * 0.03)])
        voiced = sum(voiced_frames(audio))
        if voiced in (need - 1, need):
            assert settings.is_silence(audio) is (voiced < need), (frames, voiced)
            tried.add(voiced)
    assert tried == {need - 1, need}  # both sides of the edge were tried


def test_answers_among_count_words_are_found(sphinx: PocketSphinxRecognizer) -> None:
    """Over counts, the count words around an answer are dropped, and the rules still hold."""
    found = scripted(sphinx, "three stop four", ["three stop four"], grammar="barge_in_counts")
    assert found.accepted and (found.text, found.intent) == ("stop", Intent.STOP), found
    only_counts = scripted(sphinx, "three four", ["three four"], grammar="barge_in_counts")
    assert (only_counts.accepted, only_counts.reason) == (False, "out_of_grammar")
    assert (only_counts.text, only_counts.alternatives) == ("", ("",))
    # "one moment" holds a count word itself: the longest phrase wins, not what is left
    # once the count words are dropped ("moment").
    pause = scripted(sphinx, "one moment two", ["one moment two"], grammar="barge_in_counts")
    assert pause.accepted and (pause.text, pause.intent) == ("one moment", Intent.PAUSE), pause
    # Something that is neither a count word nor an answer is not dropped.
    other = scripted(sphinx, "three stop hello", ["three stop hello"], grammar="barge_in_counts")
    assert (other.accepted, other.text, other.reason) == (
        False,
        "stop hello",
        "not_a_whole_phrase",
    ), other


@needs_espeak
def test_on_real_speech_the_nbest_rule_keeps_note_from_being_no() -> None:
    """Decoded for real: espeak-ng's "note" (en-us+f3, 130 wpm) comes out on top as "no",
    with a rival in the n-best list. Without the agreement rule it would be a "no"."""
    from tests.speechgen import speak

    r = runtime_sphinx()  # a fresh one: decodes depend on what came before
    result = r.recognize(speak("note", "en-us+f3", 130), "yes_no")
    assert result.intent is not Intent.NO, result
    assert not result.accepted
    assert (result.text, result.reason) == ("no", "ambiguous_no"), result


# ---------------------------------------------------------------- Vosk


class FakeKaldi:
    """Stands in for ``vosk.KaldiRecognizer``: returns a scripted final result."""

    final: ClassVar[dict[str, Any]] = {}
    grammars: ClassVar[list[list[str]]] = []

    def __init__(self, model: object, rate: int, grammar: str) -> None:
        FakeKaldi.grammars.append(json.loads(grammar))

    delays: ClassVar[list[tuple[float, ...]]] = []

    def SetWords(self, on: bool) -> None: ...
    def SetEndpointerDelays(self, *seconds: float) -> None:
        FakeKaldi.delays.append(seconds)

    def SetMaxAlternatives(self, n: int) -> None: ...

    def AcceptWaveform(self, data: bytes) -> bool:
        return True

    def FinalResult(self) -> str:
        return json.dumps(FakeKaldi.final)


class FakeModel:
    def __init__(self, path: str) -> None: ...

    def vosk_model_find_word(self, word: str) -> int:
        return -1 if word in {"<UNK>", "<unk>", "affirmative"} else 1


@pytest.fixture
def vosk(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> vosk_engine.VoskRecognizer:
    fake = SimpleNamespace(
        SetLogLevel=lambda level: None, Model=FakeModel, KaldiRecognizer=FakeKaldi
    )
    monkeypatch.setattr(vosk_engine, "vosk", fake)
    monkeypatch.setattr(vosk_engine, "validate_model_dir", lambda path: None)
    FakeKaldi.grammars, FakeKaldi.delays = [], []
    return vosk_engine.VoskRecognizer(content().grammars, model_path=tmp_path)


def vosk_hears(
    r: vosk_engine.VoskRecognizer, words: list[tuple[str, float]], grammar: str = "yes_no"
) -> Recognition:
    FakeKaldi.final = {
        "result": [{"word": w, "conf": c} for w, c in words],
        "text": " ".join(w for w, _ in words),
    }
    return r.recognize(buzz(), grammar)


def test_vosk_grammar_has_the_phrases_and_the_unknown_token(
    vosk: vosk_engine.VoskRecognizer,
) -> None:
    assert vosk.unknown_token == "[unk]"
    assert vosk.missing_words == {"yes_no": ["affirmative"]}
    assert vosk_hears(vosk, [("no", 1.0)]).engine == "vosk"
    phrases = FakeKaldi.grammars[-1]
    assert phrases[-1] == "[unk]" and "no" in phrases and "affirmative" not in phrases
    # Answers are short: the engine is told not to wait long for more speech.
    start, end, longest = FakeKaldi.delays[-1]
    assert start <= 0.5 and end <= 0.5 and longest >= 5, FakeKaldi.delays[-1]


@pytest.mark.parametrize(
    ("conf", "accepted"), [(0.84, False), (0.85, True), (0.99, True), (0.6, False)]
)
def test_vosk_needs_the_highest_confidence_for_no(
    vosk: vosk_engine.VoskRecognizer, conf: float, accepted: bool
) -> None:
    result = vosk_hears(vosk, [("no", conf)])
    assert result.accepted is accepted, result
    assert result.intent is (Intent.NO if accepted else None)
    assert result.score == conf
    assert result.reason == ("" if accepted else "low_score")
    assert result.text == "no"  # kept when rejected too: the runtime must not use it


@pytest.mark.parametrize(("conf", "accepted"), [(0.59, False), (0.6, True), (0.7, True)])
def test_vosk_other_answers_need_less(
    vosk: vosk_engine.VoskRecognizer, conf: float, accepted: bool
) -> None:
    result = vosk_hears(vosk, [("yes", conf)])
    assert result.accepted is accepted and result.intent is (Intent.YES if accepted else None)


def test_vosk_phrase_is_as_weak_as_its_weakest_word(vosk: vosk_engine.VoskRecognizer) -> None:
    two = vosk_hears(vosk, [("help", 0.99), ("me", 0.7)], grammar="coaching")
    assert two.accepted and two.score == 0.7, two
    weak = vosk_hears(vosk, [("help", 0.99), ("me", 0.5)], grammar="coaching")
    assert (weak.accepted, weak.score) == (False, 0.5), weak


def test_vosk_over_the_guide_needs_a_strong_result(vosk: vosk_engine.VoskRecognizer) -> None:
    weak = vosk_hears(vosk, [("stop", 0.89)], grammar="barge_in")
    assert (weak.accepted, weak.reason) == (False, "low_score")
    firm = vosk_hears(vosk, [("stop", 0.9)], grammar="barge_in")
    assert firm.accepted and firm.intent is Intent.STOP


@pytest.mark.parametrize(
    ("words", "reason"),
    [
        ([], "no_hypothesis"),
        ([("[unk]", 1.0)], "out_of_grammar"),
        ([("no", 1.0), ("[unk]", 1.0)], "out_of_grammar"),
        ([("no", 1.0), ("no", 1.0)], "not_a_whole_phrase"),
    ],
)
def test_vosk_unknown_partial_and_empty_results_are_rejected(
    vosk: vosk_engine.VoskRecognizer, words: list[tuple[str, float]], reason: str
) -> None:
    result = vosk_hears(vosk, words)
    assert (result.accepted, result.intent, result.reason) == (False, None, reason), result
    assert result.score == 0.0
    assert result.text == " ".join(w for w, _ in words)


def test_vosk_word_without_a_confidence_is_not_confident(
    vosk: vosk_engine.VoskRecognizer,
) -> None:
    FakeKaldi.final = {"result": [{"word": "no"}], "text": "no"}
    result = vosk.recognize(buzz(), "yes_no")
    assert (result.accepted, result.score, result.reason) == (False, 0.0, "low_score"), result


def test_vosk_empty_result_is_no_hypothesis(vosk: vosk_engine.VoskRecognizer) -> None:
    FakeKaldi.final = {}
    result = vosk.recognize(buzz(), "yes_no")
    assert (result.accepted, result.text, result.reason) == (False, "", "no_hypothesis")


def test_vosk_text_only_results_are_read_too(vosk: vosk_engine.VoskRecognizer) -> None:
    FakeKaldi.final = {"text": "no"}  # no per-word list: no confidence, so never a "no"
    result = vosk.recognize(buzz(), "yes_no")
    assert (result.accepted, result.text, result.score) == (False, "no", 0.0), result


# ---------------------------------------------------------------- the runtime's mapping


AMBIGUOUS_NO = Recognition("no", None, 0.5, False, "ambiguous_no", ("no", "note"), "pocketsphinx")


@pytest.mark.parametrize(
    "rejected",
    [
        AMBIGUOUS_NO,
        Recognition("no", None, 0.84, False, "low_score", (), "vosk"),
        Recognition("no", None, 1.0, False, "low_score", (), "vosk"),
        Recognition("yes", None, 0.9, False, "weak_barge_in", (), "pocketsphinx"),
        Recognition("go", None, 0.0, False, "out_of_grammar", (), "pocketsphinx"),
    ],
)
def test_a_rejected_result_with_text_is_never_an_answer(rejected: Recognition) -> None:
    event = voice._event(rejected)
    assert isinstance(event, NoMatch), event
    assert (event.reason, event.text, event.source) == (
        rejected.reason,
        rejected.text,
        rejected.engine,
    )
    d = Driver()
    out = d.send(event)
    assert [e.value for e in out if isinstance(e, AnswerGiven)] == [Answer.UNCLEAR]
    assert d.dialogue.question == 0


def test_an_accepted_result_is_heard_with_its_intent_and_score() -> None:
    r = Recognition("nope", Intent.NO, 0.9, True, "", ("nope", "no"), "vosk")
    event = voice._event(r)
    assert event == Heard(
        "nope", intent=Intent.NO, confidence=0.9, alternatives=("nope", "no"), source="vosk"
    )
    d = Driver()
    assert AnswerGiven(d.dialogue.current_question_id or "", Answer.NO) in d.send(event)


def test_an_accepted_no_below_the_dialogues_threshold_is_still_unclear() -> None:
    d = Driver()
    out = d.send(voice._event(Recognition("no", Intent.NO, 0.49, True, "", (), "x")))
    assert [e.value for e in out if isinstance(e, AnswerGiven)] == [Answer.UNCLEAR]


@pytest.mark.parametrize(
    ("result", "speaking", "barge_in"),
    [
        (Recognition("stop", Intent.STOP, 1.0, True), set(), True),
        (Recognition("stop", Intent.STOP, 1.0, True), {"lower", "your", "hips"}, True),
        (Recognition("stop now", Intent.STOP, 1.0, True), {"stop", "now"}, False),  # its echo
        (Recognition("stop now", Intent.STOP, 1.0, True), {"stop", "now", "and"}, False),
        (Recognition("stop now", Intent.STOP, 1.0, True), {"now"}, True),
        (Recognition("stop", None, 0.5, False, "weak_barge_in"), set(), False),
        (Recognition("help", None, 0.9, False, "low_score"), {"lower"}, False),
    ],
)
def test_a_barge_in_is_accepted_and_not_only_the_guides_words(
    result: Recognition, speaking: set[str], barge_in: bool
) -> None:
    assert is_barge_in(result, speaking) is barge_in


# ---------------------------------------------------------------- the whole voice path


class QuietSpeaker:
    """A speaker that has said nothing for a while: what the microphone hears is an answer."""

    busy = False
    ended_at = 0.0
    latency = 0.0

    def play(self, samples: object, rate: int, at: float | None = None) -> int:
        return 0

    def stop(self) -> None: ...

    def wait(self, timeout: float | None = None) -> bool:
        return True


class ClipMicrophone:
    """Delivers one clip between stretches of silence, then silence, block by block."""

    def __init__(self, clip: np.ndarray) -> None:
        quiet = np.zeros(16_000, dtype=np.int16)
        audio = np.concatenate([quiet[:8000], clip, quiet, quiet])
        self.blocks = [audio[i : i + FRAME] for i in range(0, len(audio) - FRAME + 1, FRAME)]
        self.alive = True

    def read(self, timeout: float) -> np.ndarray | None:
        if not self.blocks:
            time.sleep(min(timeout, 0.01))
            return None
        return self.blocks.pop(0)

    def close(self) -> None:
        self.alive = False


def through_the_runtime(recognizer: Any, clip: np.ndarray) -> list[object]:
    """The runtime's listener on ``clip``: the events it hands the session."""
    speaker: Any = QuietSpeaker()
    io = VoiceIO(content(), recognizer, None, speaker, lambda: ClipMicrophone(clip), StringIO())
    events: list[object] = []
    deadline = time.monotonic() + 20
    while not events and time.monotonic() < deadline:
        got = io.get(0.1)
        if got is not None:
            events.append(got)
    io.close()
    return events


@needs_espeak
def test_an_ambiguous_no_through_the_runtime_is_an_unclear_answer(
    sphinx: PocketSphinxRecognizer,
) -> None:
    """A spoken "no", endpointed by the runtime and decoded with a doubting n-best list,
    reaches the dialogue as a rejection and is re-asked, never taken as "no"."""
    from tests.speechgen import speak

    real = sphinx._decoder
    sphinx._decoder = ScriptedDecoder("no", ["no", "note"])
    try:
        events = through_the_runtime(sphinx, speak("no", "en-us+f2"))
    finally:
        sphinx._decoder = real
    assert len(events) == 1 and isinstance(events[0], NoMatch), events
    d = Driver()
    out = d.send(events[0])  # type: ignore[arg-type]
    assert [e.value for e in out if isinstance(e, AnswerGiven)] == [Answer.UNCLEAR]
    # And the same utterance with an agreeing list is a "no".
    sphinx._decoder = ScriptedDecoder("no", ["no", "no"])
    try:
        agreed = through_the_runtime(sphinx, speak("no", "en-us+f2"))
    finally:
        sphinx._decoder = real
    assert len(agreed) == 1 and isinstance(agreed[0], Heard) and agreed[0].intent is Intent.NO


# ---------------------------------------------------------------- the dialogue's reading


def test_the_engines_intent_counts_when_its_text_says_nothing_more() -> None:
    """An engine (e.g. another language's model) may decide the intent itself."""
    cleared = Driver()
    out = cleared.send(Heard("", intent=Intent.NO, confidence=0.9, source="asr"))
    assert [e.value for e in out if isinstance(e, AnswerGiven)] == [Answer.NO]
    routed = Driver()
    out = routed.send(Heard("", intent=Intent.YES, confidence=0.3, source="asr"))
    assert [e.value for e in out if isinstance(e, AnswerGiven)] == [Answer.YES]
    assert routed.dialogue.phase.value == "emergency"


def test_an_emergency_word_in_the_text_wins_over_the_engines_intent() -> None:
    """Whatever intent an engine attached, "help" in what it heard is a call for help."""
    d = Driver()
    d.send(Heard("help me", intent=Intent.NO, confidence=1.0, source="asr"))
    assert d.dialogue.phase.value == "emergency"


def test_a_no_at_exactly_the_threshold_counts_and_just_below_does_not() -> None:
    at = Driver()
    out = at.send(Heard("no", intent=Intent.NO, confidence=0.5, source="asr"))
    assert [e.value for e in out if isinstance(e, AnswerGiven)] == [Answer.NO]
    assert at.dialogue.cleared == [content().screening.questions[0].id]
    below = Driver()
    out = below.send(Heard("no", intent=Intent.NO, confidence=0.4999, source="asr"))
    assert [e.value for e in out if isinstance(e, AnswerGiven)] == [Answer.UNCLEAR]
    assert below.dialogue.cleared == []


def test_an_answer_phrase_is_found_when_every_word_being_said_surrounds_it() -> None:
    """The guide's words may include an answer's own words ("now" in "stop now"): the
    phrase is still found whole, even when the words beside it are all of them."""
    phrases = {"stop now": Intent.STOP, "stop": Intent.STOP}
    assert _answer_among("now stop now", phrases, {"now"}) == "stop now"
    assert _answer_among("lower stop hips", phrases, {"lower", "hips"}) == "stop"
    assert _answer_among("lower stop hips", phrases, {"lower"}) == "stop hips"  # not beside
    assert _answer_among("lower hips", phrases, {"lower", "hips"}) == ""
