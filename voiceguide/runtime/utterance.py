"""One utterance, decided the way the hands-free runtime decides it.

``decide`` is the runtime's per-utterance step: ``listening_grammar`` (the turn's grammar,
or its strict over-speech grammar when the guide was talking), the recognizer, and
``judge`` (the echo rule, and the input event the dialogue gets). ``runtime/voice.py`` runs
the same three steps for every utterance the endpointer cuts from the microphone (it keeps
the recognizer call itself, to handle its failures). The benchmarks call ``decide``
through ``decode_as_live``, which places a recorded clip in a stream with room noise
before and after it and cuts it with the runtime's own endpointer. So a figure from a
benchmark is what a user would get, not what a whole padded clip would give.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from voiceguide.audio.vad import FRAME, RATE, Endpointer, Segment, frame_powers
from voiceguide.content.models import Content
from voiceguide.dialogue.events import Heard, InputEvent, NoMatch
from voiceguide.speech.recognizer import Recognition, Recognizer

Int16 = npt.NDArray[np.int16]

#: An utterance counts as spoken over the guide when this share of it was.
OVERLAP_SHARE = 0.3
#: The microphone's block: 30 ms, as ``audio.devices.Microphone`` delivers it.
MIC_BLOCK = FRAME
#: Room noise placed before and after a clip (seconds), and its level (int16 RMS, about
#: -55 dBFS: a quiet room through a laptop microphone). The first WARMUP_S of the lead
#: stand for the microphone being open while the guide asked the question: the voice
#: activity detector adapts to the room then, and what it cuts there is not an answer.
WARMUP_S = 1.5
LEAD_S = WARMUP_S + 0.5
TRAIL_S = 1.0
ROOM_RMS = 60.0
#: A rejected utterance waits this long after it was cut before the dialogue hears of it.
#: If the user speaks again in that time, a short rejection is dropped and the new
#: utterance decides: a cough, a knock or an "um" before "no" must neither spend an
#: attempt nor make the guide ask again over the answer. Accepted answers still act at
#: once; a held rejection only delays a re-ask, and the turn's own timeout still runs.
RETRY_WINDOW_S = 0.6
#: Only a rejection this short (from where the voice began) is dropped. A longer one was
#: an attempt at an answer and stands: in a room full of talk (a TV), dropping every
#: rejection for whatever came next gave the room's chatter more chances to be taken for
#: an answer (bench asr at 10 dB: 3 unsafe "no"s of 1,246 against 1).
RETRY_MAX_VOICE_S = 0.5


@dataclass(frozen=True, slots=True)
class Decision:
    """What became of one utterance."""

    #: The recognizer's result (None: nothing was decoded, e.g. too short).
    result: Recognition | None
    #: What the dialogue is told (None: nothing; the utterance is dropped).
    event: InputEvent | None
    #: Heard over the guide and accepted as a real interruption.
    barge_in: bool = False
    #: Heard over the guide, and only the guide's own words: its echo.
    echo: bool = False
    #: The grammar it was decoded against.
    grammar: str = ""


def is_overlapped(gated: Sequence[bool]) -> bool:
    """Spoken over the guide, judged from the per-block "guide was playing" flags."""
    return sum(gated) > OVERLAP_SHARE * max(1, len(gated))


def over_speech_grammar(content: Content, turn: str, counting: bool) -> str | None:
    """The grammar for speech heard while the guide talks during ``turn`` (None: ignore)."""
    g = content.grammars.grammars[turn]
    return (g.over_counts if counting else None) or g.over_speech


def is_barge_in(result: Recognition, speaking: set[str] | frozenset[str]) -> bool:
    """An accepted result over the guide's voice that is not just the guide's own words."""
    return result.accepted and not set(result.text.split()) <= speaking


def to_event(r: Recognition) -> InputEvent:
    """Accepted results become ``Heard``; anything rejected, with or without text, is
    ``NoMatch``: the dialogue must never read a rejected "no" as an answer."""
    if r.accepted:
        return Heard(
            r.text,
            intent=r.intent,
            confidence=r.score,
            alternatives=r.alternatives,
            source=r.engine,
        )
    return NoMatch(r.reason, r.text, source=r.engine)


def describe(r: Recognition) -> str:
    if r.accepted:
        return f"{r.text} ({r.intent}, score {r.score:.2f})"
    return f"[not understood: {r.reason}]"


def listening_grammar(
    content: Content,
    audio: Int16,
    turn: str,
    overlapped: bool,
    speaking: frozenset[str],
    count_words: frozenset[str] | set[str],
) -> str | None:
    """The grammar to decode an utterance heard during ``turn`` with: the turn's own, or
    its strict over-speech grammar when the guide was talking (None: do not decode)."""
    if len(audio) < FRAME:
        return None
    if not overlapped:
        return turn
    return over_speech_grammar(content, turn, speaking <= count_words)


def judge(
    result: Recognition, grammar: str, overlapped: bool, speaking: frozenset[str]
) -> Decision:
    """What the dialogue is told about a decoded utterance."""
    if overlapped:
        if not is_barge_in(result, speaking):
            return Decision(result, None, echo=True, grammar=grammar)
        return Decision(result, to_event(result), barge_in=True, grammar=grammar)
    return Decision(result, to_event(result), grammar=grammar)


def retry_limit(cut: Segment) -> int:
    """The stream offset by which a voice must begin again to drop a rejection of ``cut``."""
    return cut.decided_at + int(RETRY_WINDOW_S * RATE)


def gives_way(cut: Segment, following: Segment | None) -> bool:
    """``cut`` was short, and the user's voice began again (``following``) within
    RETRY_WINDOW_S: a rejection of it is dropped."""
    return (
        cut.end - cut.voiced_from <= RETRY_MAX_VOICE_S * RATE
        and following is not None
        and following.voiced_from <= retry_limit(cut)
    )


def superseded(decision: Decision, cut: Segment, following: Segment | None) -> bool:
    """The dialogue never hears of ``decision`` (about the utterance ``cut``): it was a
    rejection of an utterance that ``gives_way`` to the next."""
    return isinstance(decision.event, NoMatch) and gives_way(cut, following)


def decide(
    recognizer: Recognizer,
    content: Content,
    audio: Int16,
    turn: str,
    overlapped: bool = False,
    speaking: frozenset[str] = frozenset(),
    count_words: frozenset[str] | set[str] = frozenset(),
) -> Decision:
    """Decode one endpointed utterance heard during ``turn`` (the dialogue's grammar), as
    ``runtime/voice.py`` does: ``listening_grammar``, the recognizer, ``judge``.

    ``overlapped``: the guide was talking over much of it; ``speaking`` are the words it
    was saying. A recognizer failure is raised for the caller to handle.
    """
    heard_over = speaking if overlapped else frozenset()
    grammar = listening_grammar(content, audio, turn, overlapped, heard_over, count_words)
    if grammar is None:
        return Decision(None, None, grammar=turn)
    result = recognizer.recognize(audio, grammar, heard_over)
    return judge(result, grammar, overlapped, heard_over)


# ---------------------------------------------------------------- clips as live


#: The stretch of a recording taken for its background: its quietest 90 ms ...
FLOOR_STRETCH = 3 * FRAME
#: ... if that is this far under its loudest frame (else the clip is all voice, and its
#: background is not known).
FLOOR_UNDER_PEAK_DB = 15.0
#: Copies of the stretch overlap by this much, faded into each other (10 ms).
FLOOR_FADE = 160


def carried_floor(clip: Int16, lead: int, trail: int) -> npt.NDArray[np.float64]:
    """The recording's own background before (``lead`` samples) and after it (``trail``),
    zero over the clip itself: its quietest stretch, repeated with crossfades, every other
    copy reversed.

    A recorded word carries the room it was said in. Pasted alone into a quieter room,
    its background starts with a step that a microphone left open would never hear: in
    34 of dev's 175 "no"s it is 10 dB or more over the simulated room, and the
    endpointer cut from the step, not from the voice (BENCHMARKS, session 12). Carried on
    either side, the background is there all along, as the user's room would be, and
    the endpointer learns it as the room.
    """
    out = np.zeros(lead + len(clip) + trail)
    power = frame_powers(clip)
    if len(power) < FLOOR_STRETCH // FRAME + 1:
        return out
    if not power.all():
        # Digital silence in it (padded, gated, or synthetic): that silence is its
        # background, and its quietest sound is likely part of the voice.
        return out
    windows = np.lib.stride_tricks.sliding_window_view(power, FLOOR_STRETCH // FRAME)
    at = int(np.argmin(windows.mean(axis=1)))
    if 10.0 * np.log10(float(power.max()) / float(windows[at].mean())) < FLOOR_UNDER_PEAK_DB:
        return out
    stretch = clip[at * FRAME : at * FRAME + FLOOR_STRETCH].astype(np.float64)
    out[:lead] = _repeated(stretch, lead)[::-1]
    out[lead + len(clip) :] = _repeated(stretch, trail)
    return out


def _repeated(stretch: npt.NDArray[np.float64], n: int) -> npt.NDArray[np.float64]:
    """``n`` samples of ``stretch`` over and over, each copy faded into the next with
    equal power (uncorrelated noise keeps its level), every other one reversed so the
    copies meet without a jump."""
    fade_in = np.sqrt(np.linspace(0.0, 1.0, FLOOR_FADE))
    hop = len(stretch) - FLOOR_FADE
    out = np.zeros(n + len(stretch))
    for i, at in enumerate(range(0, n, hop)):
        copy = (stretch if i % 2 == 0 else stretch[::-1]).copy()
        if at > 0:
            copy[:FLOOR_FADE] *= fade_in
        copy[-FLOOR_FADE:] *= fade_in[::-1]
        out[at : at + len(copy)] += copy
    return out[:n]


def room_noise(n: int, rng: np.random.Generator, rms: float = ROOM_RMS) -> npt.NDArray[np.float64]:
    """Quiet, slightly pink room noise (the low end a room and a microphone add)."""
    white = rng.normal(0.0, 1.0, n + 64)
    pink = np.convolve(white, np.ones(4) / 4, mode="same")[:n] + 0.3 * white[:n]
    return np.asarray(pink / max(1e-9, float(np.std(pink))) * rms, dtype=np.float64)


def place_in_room(
    clip: Int16,
    rng: np.random.Generator,
    lead_s: float = LEAD_S,
    trail_s: float = TRAIL_S,
    noise: npt.NDArray[np.float64] | None = None,
    carry_floor: bool = True,
) -> tuple[Int16, int]:
    """The clip inside a stream of room noise; returns the stream and the clip's offset.

    ``noise`` (as long as the stream, already scaled) is added over all of it, e.g. babble
    for an SNR figure: noise that is there before the user speaks, as in a real room.
    ``carry_floor``: the recording's own background goes on before and after it
    (``carried_floor``); False pastes the clip into the room as it is.
    """
    lead, trail = int(lead_s * RATE), int(trail_s * RATE)
    total = lead + len(clip) + trail
    stream = room_noise(total, rng)
    if carry_floor:
        stream += carried_floor(clip, lead, trail)
    stream[lead : lead + len(clip)] += clip.astype(np.float64)
    if noise is not None:
        stream += noise[:total]
    return np.clip(np.round(stream), -32768, 32767).astype(np.int16), lead


def endpoint(stream: Int16, end_silence_ms: int, listen_from: int = 0) -> list[Segment]:
    """The runtime's endpointer over a stream, fed in microphone blocks as live; only the
    utterances that end after ``listen_from`` (the turn's start) are kept."""
    endpointer = Endpointer()
    segments: list[Segment] = []
    for at in range(0, len(stream), MIC_BLOCK):
        endpointer.set_end_silence(end_silence_ms)
        segments += endpointer.feed(stream[at : at + MIC_BLOCK])
    return [s for s in segments + endpointer.flush() if s.end > listen_from]


@dataclass(frozen=True, slots=True)
class Piece:
    """One utterance the endpointer cut: its audio and where it lies in the stream."""

    audio: Int16
    segment: Segment


def pieces(
    content: Content,
    clip: Int16,
    turn: str,
    rng: np.random.Generator,
    noise: npt.NDArray[np.float64] | None = None,
    carry_floor: bool = True,
) -> list[Piece]:
    """``clip`` said into a quiet room during ``turn``: the pieces the runtime's endpointer
    cuts from the stream once the turn has started (empty: nothing heard)."""
    stream, _ = place_in_room(clip, rng, noise=noise, carry_floor=carry_floor)
    end_ms = content.grammars.grammars[turn].end_silence_ms
    segments = endpoint(stream, end_ms, int(WARMUP_S * RATE))
    return [Piece(stream[s.start : s.end], s) for s in segments]


def with_following(cut: Sequence[Piece]) -> list[tuple[Piece, Segment | None]]:
    """Each piece with the segment cut after it (None for the last)."""
    return [(p, cut[i + 1].segment if i + 1 < len(cut) else None) for i, p in enumerate(cut)]


def utterances(
    content: Content,
    clip: Int16,
    turn: str,
    rng: np.random.Generator,
    noise: npt.NDArray[np.float64] | None = None,
) -> list[Int16]:
    """The audio of ``pieces``."""
    return [p.audio for p in pieces(content, clip, turn, rng, noise)]


def decode_as_live(
    recognizer: Recognizer,
    content: Content,
    clip: Int16,
    turn: str,
    rng: np.random.Generator,
    noise: npt.NDArray[np.float64] | None = None,
) -> list[Decision]:
    """``clip`` said into a quiet room during ``turn`` while the guide is silent: every
    utterance decided as the runtime would, in order, without the rejections that more
    speech superseded (``superseded``)."""
    out = []
    for piece, following in with_following(pieces(content, clip, turn, rng, noise)):
        decision = decide(recognizer, content, piece.audio, turn)
        if decision.result is not None and not superseded(decision, piece.segment, following):
            out.append(decision)
    return out


def padded(clip: Int16, seconds: float = 0.3) -> Int16:
    """The old way to decode a clip: whole, with digital silence either side."""
    pad = np.zeros(int(seconds * RATE), dtype=np.int16)
    return np.concatenate([pad, clip.astype(np.int16, copy=False), pad])


def first_answer(decisions: Sequence[Decision]) -> Recognition | None:
    """What one spoken answer comes to: the first utterance the dialogue is told about
    (it acts at once, and starts talking; anything after it would be heard over the guide
    and judged by the strict over-speech grammar). None: nothing heard, the turn times out.
    """
    for d in decisions:
        if d.event is not None:
            return d.result
    return None
