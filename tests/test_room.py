"""A recorded clip said into the benches' simulated room (``runtime.utterance``): its own
background goes on before and after it, as a microphone left open would hear it."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from tests.speechgen import speak
from voiceguide.audio.vad import FRAME, RATE
from voiceguide.content.loader import load_content
from voiceguide.runtime.utterance import LEAD_S, TRAIL_S, carried_floor, pieces

Int16 = npt.NDArray[np.int16]
#: The recording's own background: a fan, 20 dB over the simulated room (RMS 60).
FAN_RMS = 600.0
#: Background alone before the word, as in many real recordings.
BEFORE_WORD = int(0.4 * RATE)


def _fan(n: int) -> npt.NDArray[np.float64]:
    white = np.random.default_rng(7).normal(0.0, 1.0, n)
    fan = np.convolve(white, np.ones(8) / 8, mode="same")
    return fan / float(np.std(fan)) * FAN_RMS


def _recording() -> tuple[Int16, int]:
    """A "no" recorded over a fan, and where its voice begins in the recording."""
    word = speak("no")
    voice = np.concatenate([np.zeros(BEFORE_WORD, dtype=np.int16), word])
    clip = np.clip(np.round(voice + _fan(len(voice))), -32768, 32767).astype(np.int16)
    return clip, BEFORE_WORD + int(np.nonzero(np.abs(word) > 500)[0][0])


def _rms(x: npt.NDArray[np.float64]) -> float:
    return float(np.sqrt(np.mean(x**2)))


def test_the_background_goes_on_at_its_own_level_on_either_side() -> None:
    clip, _ = _recording()
    lead, trail = int(LEAD_S * RATE), int(TRAIL_S * RATE)
    floor = carried_floor(clip, lead, trail)
    assert len(floor) == lead + len(clip) + trail
    assert not floor[lead : lead + len(clip)].any()  # the clip itself is left alone
    for side in (floor[:lead], floor[lead + len(clip) :]):
        assert abs(20 * np.log10(_rms(side) / FAN_RMS)) < 1.5
        # Steady, as a fan is: no 90 ms of it far off the level (no gaps, no clicks).
        blocks = side[: len(side) // 1440 * 1440].reshape(-1, 1440)
        levels = 20 * np.log10(np.sqrt(np.mean(blocks**2, axis=1)) / FAN_RMS)
        assert np.all(np.abs(levels) < 3.0), levels


def test_the_endpointer_cuts_from_the_voice_not_from_the_recordings_start() -> None:
    content = load_content("en")
    clip, voice_at = _recording()
    onset = int(LEAD_S * RATE) + voice_at

    def voiced_from(carry: bool) -> list[int]:
        cut = pieces(content, clip, "yes_no", np.random.default_rng(0), carry_floor=carry)
        return [p.segment.voiced_from - onset for p in cut]

    # Pasted as it is, the background's step is taken for the voice (what the benches
    # did before the floor was carried) ...
    [stepped] = voiced_from(False)
    assert stepped < -10 * FRAME
    # ... carried, the one utterance begins where the word does.
    [carried] = voiced_from(True)
    assert abs(carried) <= 3 * FRAME


def test_nothing_is_carried_where_the_recording_has_no_background() -> None:
    # Synthetic speech: its edges are digital silence, and its quietest sound is voice
    # (the stretch between "I" and "fell"), which must not go on before and after it.
    assert not carried_floor(speak("I fell"), RATE, RATE).any()
    # A recording gated to digital silence at its end: that silence is its background.
    gated, _ = _recording()
    gated[-RATE // 10 :] = 0
    assert not carried_floor(gated, RATE, RATE).any()
    # All voice, never far under its own peak: its background is not known.
    tone = (3000 * np.sin(np.arange(RATE // 2) * 2 * np.pi * 440 / RATE)).astype(np.int16)
    assert not carried_floor(tone, RATE, RATE).any()
