"""``voiceguide bench echo``: does the guide take its own voice for a barge-in?

Every line the guide can say is synthesized, passed through a simulated room into the
microphone, cut into utterances by the runtime's endpointer, and decoded against the
grammar the runtime uses over that line (``over_speech`` / ``over_counts``), with the
runtime's echo rule. Two rooms: ``loop`` (the speaker copied straight into the
microphone, as in the PulseAudio test room) and ``reverb`` (a decaying impulse response
and a steady noise floor 35 dB below the guide's echo, like a small room with a fan).

Figures:
  false_barge_in   share of lines the guide cut short by mishearing itself
  barge_in_recall  share of real barge-ins heard, spoken over a line (--sir dB louder
                   than the guide's echo; every phrase of every intent of the grammar
                   in turn, in several voices). Only the planted barge-in counts: the
                   utterance it was heard in must overlap the planted phrase, and the
                   guide's echo alone must not give that intent there.
  barge_in_recall_any  the old figure, for comparison: the planted intent heard anywhere
                   in the line, even where the guide's echo alone produced it
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from voiceguide.audio.files import to_mono16k
from voiceguide.audio.vad import FRAME, RATE, Endpointer
from voiceguide.bench.report import emit
from voiceguide.content import Content, load_content
from voiceguide.content.models import words_said
from voiceguide.dialogue.intents import Intent
from voiceguide.runtime.utterance import is_barge_in, over_speech_grammar
from voiceguide.speech.recognizer import Recognizer
from voiceguide.speech.select import ENGINES, NoRecognizer, make_recognizer
from voiceguide.speech.synthesis import SynthesisUnavailable, Synthesizer

Float = npt.NDArray[np.float64]
ROOMS = ("loop", "reverb")
#: The reverb room's noise floor, below the RMS of the guide's echo.
ROOM_NOISE_DB = 35.0
USER_VOICES = ("gmw/en-us+f2", "gmw/en-gb-x-rp+m3", "gmw/en-029+f4")


@dataclass(frozen=True)
class Line:
    """Something the guide says, and the listening turn it is said in."""

    text: str
    turn: str
    counting: bool = False


@dataclass
class Tally:
    lines: int = 0
    false_lines: int = 0
    false_texts: Counter[str] = field(default_factory=Counter)
    trials: int = 0
    heard: int = 0
    heard_any: int = 0
    missed: Counter[str] = field(default_factory=Counter)


def guide_lines(content: Content) -> list[Line]:
    """Everything the guide says while someone might talk over it, with its turn."""
    p = content.prompts
    number = content.locale.say_number(next(iter(content.locale.emergency_numbers.values())))
    side = next(iter(p.side_names.values()), "")
    fields = {
        "exercise": content.routine.exercises[0].name,
        "side": side,
        "other": number,
        "number": number,
        "n": p.count_word(2),
        "total": p.count_word(8),
    }
    emergency = {pid for pid in p.prompts if pid.startswith("emergency_")}
    screening = {"welcome", "screening_intro", "screening_help"}
    lines: list[Line] = []
    for pid, variants in p.prompts.items():
        turn = "emergency" if pid in emergency else "yes_no" if pid in screening else "coaching"
        lines += [Line(v.format(**fields) if "{" in v else v, turn) for v in variants]
    for q in content.screening.questions:
        lines += [Line(t, "yes_no") for t in q.ask + q.rephrase]
    for ex in content.routine.exercises:
        sided = {"side": side, "other": side}
        lines += [Line(t.format(**sided) if ex.sides else t, "coaching") for t in ex.texts() if t]
    # Counting: ten counts one second apart, said as one stretch of speech.
    lines.append(Line(" ".join(p.count_words[:10]), "coaching", counting=True))
    return lines


def _room(x: Float, kind: str, rng: np.random.Generator) -> Float:
    if kind == "loop":
        return np.concatenate([np.zeros(int(0.02 * RATE)), 0.8 * x])
    n = int(0.4 * RATE)
    rir = rng.standard_normal(n) * np.exp(-6.9 * np.arange(n) / n)
    rir[0] = 8.0
    rir /= np.sqrt(np.sum(rir**2))
    wet = np.concatenate([np.zeros(int(0.01 * RATE)), np.convolve(x, rir)[: len(x) + n] * 0.5])
    return wet + _noise_floor(wet, rng)


def _noise_floor(wet: Float, rng: np.random.Generator) -> Float:
    """Steady room noise (brownish, like a fan or traffic) ROOM_NOISE_DB below the echo's
    speech."""
    loud = wet[np.abs(wet) > 0.02 * max(1e-9, float(np.abs(wet).max()))]
    speech_rms = float(np.sqrt(np.mean(loud**2))) if len(loud) else 0.0
    white = rng.standard_normal(len(wet))
    brown = np.convolve(white, np.full(8, 1 / 8), mode="same") + 0.3 * white
    brown *= speech_rms * 10 ** (-ROOM_NOISE_DB / 20) / max(1e-9, float(np.std(brown)))
    return brown


def _counted(content: Content, synth: Synthesizer, line: Line) -> Float:
    """Count words one second apart, as the coach says them."""
    words = line.text.split()
    out = np.zeros(RATE * (len(words) + 1))
    for k, w in enumerate(words):
        a = _render(synth, w, content.locale.tts_voice)
        out[k * RATE : k * RATE + len(a)] += a[: len(out) - k * RATE]
    return out


def _render(synth: Synthesizer, text: str, voice: str | None) -> Float:
    pcm = synth.render(text, voice)
    return to_mono16k(pcm.samples, pcm.sample_rate).astype(np.float64)


def _segments(mic: Float, end_silence_ms: int) -> Iterator[tuple[int, int]]:
    endpointer = Endpointer()
    endpointer.set_end_silence(end_silence_ms)
    pcm = np.clip(np.concatenate([mic, np.zeros(RATE)]), -32768, 32767).astype(np.int16)
    for i in range(0, len(pcm) - FRAME + 1, FRAME):
        # The guide plays throughout: as in the runtime, its echo is not the room's level.
        for seg in endpointer.feed(pcm[i : i + FRAME], learn=False):
            yield seg.start, seg.end


@dataclass(frozen=True)
class BargeIn:
    """One utterance the runtime would take for a barge-in, and where it was."""

    text: str
    intent: Intent | None
    start: int
    end: int

    def overlaps(self, start: int, end: int) -> bool:
        return self.start < end and start < self.end


def _barge_ins(
    recognizer: Recognizer, mic: Float, grammar: str, speaking: set[str], end_ms: int
) -> list[BargeIn]:
    pcm = np.clip(np.concatenate([mic, np.zeros(RATE)]), -32768, 32767).astype(np.int16)
    found = []
    for start, end in _segments(mic, end_ms):
        result = recognizer.recognize(pcm[start:end], grammar, frozenset(speaking))
        if is_barge_in(result, speaking):
            found.append(BargeIn(result.text, result.intent, start, end))
    return found


def planted_heard(
    heard: list[BargeIn], own: list[BargeIn], intent: Intent, start: int, end: int
) -> bool:
    """The planted barge-in (``intent`` at ``start:end``) was heard: an utterance over it
    came out as that intent, and the guide's echo alone gave no such intent there."""
    echo_made = [b for b in own if b.intent is intent]
    return any(
        b.intent is intent
        and b.overlaps(start, end)
        and not any(e.overlaps(b.start, b.end) for e in echo_made)
        for b in heard
    )


def _samples(content: Content, grammar: str) -> list[tuple[str, Intent]]:
    """Every phrase a user could cut in with, for every intent of the grammar."""
    return sorted(content.grammars.acoustic_phrase_map(grammar).items())


def measure(
    content: Content,
    recognizer: Recognizer,
    synth: Synthesizer,
    rooms: tuple[str, ...],
    limit: int | None,
    seed: int,
    progress: bool,
    sir_db: float = 0.0,
) -> dict[str, Tally]:
    lines = guide_lines(content)
    rng = np.random.default_rng(seed)
    if limit is not None and limit < len(lines):
        keep = sorted(rng.choice(len(lines), size=limit, replace=False))
        lines = [lines[i] for i in keep]
    count_words = {w.lower() for w in content.prompts.count_words}
    tallies = {room: Tally() for room in rooms}
    started = time.monotonic()
    for n, line in enumerate(lines, 1):
        grammar = over_speech_grammar(content, line.turn, line.counting)
        if grammar is None:
            continue
        speaking = words_said(line.text)  # as the runtime does
        if line.counting:
            speaking |= count_words
            clean = _counted(content, synth, line)
        else:
            clean = _render(synth, line.text, content.locale.tts_voice)
        end_ms = content.grammars.grammars[line.turn].end_silence_ms
        phrases = _samples(content, grammar)
        for room in rooms:
            t = tallies[room]
            echo = _room(clean, room, rng)
            t.lines += 1
            own = _barge_ins(recognizer, echo, grammar, speaking, end_ms)
            if own:
                t.false_lines += 1
                t.false_texts.update(b.text for b in own)
            # One real barge-in per line, somewhere in its middle.
            phrase, intent = phrases[(n + rooms.index(room)) % len(phrases)]
            voice = USER_VOICES[n % len(USER_VOICES)]
            user = _render(synth, phrase, voice)
            at = int(rng.uniform(0.2, 0.6) * max(1, len(echo) - len(user)))
            level = np.sqrt(float(np.mean(echo**2)) / max(1e-9, float(np.mean(user**2))))
            level *= 10 ** (sir_db / 20)
            mic = np.concatenate([echo, np.zeros(max(0, at + len(user) - len(echo)))])
            mic[at : at + len(user)] += user * level
            t.trials += 1
            heard = _barge_ins(recognizer, mic, grammar, speaking, end_ms)
            t.heard_any += any(b.intent is intent for b in heard)
            if planted_heard(heard, own, intent, at, at + len(user)):
                t.heard += 1
            else:
                t.missed[phrase] += 1
        if progress:
            rate = n / max(1e-9, time.monotonic() - started)
            print(
                f"\rbench echo: {n}/{len(lines)} lines ({rate:.1f}/s)",
                end="",
                file=sys.stderr,
                flush=True,
            )
    if progress:
        print(file=sys.stderr)
    return tallies


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "echo",
        help="does the guide take its own voice for a barge-in (simulated rooms)",
        description=__doc__,
        epilog="example:\n  voiceguide bench echo --limit 40 --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--engine", choices=ENGINES, default="auto", help="recognizer (default auto)")
    p.add_argument("--lang", default="en", help="content language (default en)")
    p.add_argument(
        "--room", choices=ROOMS, action="append", help="room to simulate (default: both)"
    )
    p.add_argument("--limit", type=int, metavar="N", help="a random sample of N lines")
    p.add_argument("--seed", type=int, default=1, help="for the sample and the rooms")
    p.add_argument(
        "--sir",
        type=float,
        default=0.0,
        metavar="DB",
        help="the user's level over the guide's echo at the microphone (default 0 dB)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    if args.limit is not None and args.limit < 1:
        print("voiceguide bench echo: --limit must be at least 1", file=sys.stderr)
        return 2
    content = load_content(args.lang)
    try:
        synth = Synthesizer(content.locale.tts_voice)
        recognizer = make_recognizer(
            args.engine,
            content.grammars,
            frozenset(content.spoken_words()),
            frozenset(content.prompts.count_words),
        )
    except (SynthesisUnavailable, NoRecognizer) as exc:
        print(f"voiceguide bench echo: {exc}", file=sys.stderr)
        return 1
    rooms = tuple(args.room or ROOMS)
    tallies = measure(content, recognizer, synth, rooms, args.limit, args.seed, True, args.sir)
    report: dict[str, object] = {"engine": recognizer.name, "sir_db": args.sir}
    for room, t in tallies.items():
        report[f"{room}_lines"] = t.lines
        report[f"{room}_false_barge_in"] = round(t.false_lines / max(1, t.lines), 3)
        report[f"{room}_trials"] = t.trials
        report[f"{room}_barge_in_recall"] = round(t.heard / max(1, t.trials), 3)
        report[f"{room}_barge_in_recall_any"] = round(t.heard_any / max(1, t.trials), 3)
        report[f"{room}_false_heard"] = dict(t.false_texts.most_common(5))
        report[f"{room}_missed"] = dict(t.missed.most_common(5))
    emit(report, args.json)
    return 0
