"""Endpointing on synthetic speech: utterances found, ends decided quickly."""

from __future__ import annotations

import numpy as np

from tests.speechgen import speak
from voiceguide.audio.vad import FRAME, RATE, Endpointer, split_utterances, voiced_frames


def test_silence_has_no_utterance() -> None:
    assert split_utterances(np.zeros(RATE * 2, dtype=np.int16)) == []
    assert sum(voiced_frames(np.zeros(RATE, dtype=np.int16))) == 0


def test_two_answers_are_two_segments() -> None:
    gap = np.zeros(RATE, dtype=np.int16)
    audio = np.concatenate([speak("no"), gap, speak("yes")])
    segments = split_utterances(audio)
    assert len(segments) == 2
    assert segments[0].end < segments[1].start


def test_end_of_a_short_answer_is_decided_within_half_a_second() -> None:
    audio = np.concatenate([speak("no"), np.zeros(RATE, dtype=np.int16)])
    ep = Endpointer()
    found = []
    for i in range(0, len(audio), 320):  # 20 ms microphone blocks
        found += ep.feed(audio[i : i + 320])
    assert len(found) == 1
    seg = found[0]
    assert (seg.decided_at - seg.end) / RATE <= 0.5
    assert seg.seconds > 0.1


def test_stream_chunking_does_not_change_segments() -> None:
    audio = np.concatenate([speak("not at all"), np.zeros(RATE, dtype=np.int16)])
    whole = split_utterances(audio)
    ep = Endpointer()
    pieces = []
    for i in range(0, len(audio), 777):
        pieces += ep.feed(audio[i : i + 777])
    pieces += ep.flush()
    assert [(s.start, s.end) for s in pieces] == [(s.start, s.end) for s in whole]
    assert all(s.start % FRAME == 0 for s in whole)


def test_one_word_turns_end_within_a_quarter_second() -> None:
    """yes_no's short end silence (grammars.toml) decides "no" fast, and still finds it."""
    from voiceguide.content import load_grammars

    audio = np.concatenate([speak("no"), np.zeros(RATE, dtype=np.int16)])
    ep = Endpointer()
    ep.set_end_silence(load_grammars("en").grammars["yes_no"].end_silence_ms)
    found = [seg for i in range(0, len(audio), FRAME) for seg in ep.feed(audio[i : i + FRAME])]
    assert len(found) == 1
    loud = np.flatnonzero(np.abs(audio.astype(np.int32)) > 0.02 * np.abs(audio).max())
    assert (found[0].decided_at - loud[-1]) / RATE <= 0.25
    assert found[0].end >= loud[-1] - FRAME  # the word itself is not cut short


def test_the_voice_begins_after_the_pre_roll() -> None:
    word = speak("no")
    gap = np.zeros(RATE, dtype=np.int16)
    [seg] = split_utterances(np.concatenate([gap, word, gap]))
    onset = RATE + int(np.nonzero(np.abs(word) > 500)[0][0])
    assert seg.voiced_from - seg.start == Endpointer().pre_roll_frames * FRAME
    assert abs(seg.voiced_from - onset) <= 3 * FRAME  # the VAD's first voiced frames
    assert seg.start < onset - 4 * FRAME  # the decoder still gets the lead-in
