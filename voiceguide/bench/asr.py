"""``voiceguide bench asr``: recognition accuracy and safety on a Speech Commands folder.

Every clip is asked as its own red-flag question: the same grammar ("yes_no") and the
same rejection the dialogue uses. What matters most is ``unsafe_no``: how often anything
that is not "no" (yes, other words, unknown speech, silence, noise) is accepted as "no".
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from voiceguide.audio.files import AudioFormatError, load_audio, to_mono16k
from voiceguide.content import load_grammars
from voiceguide.dialogue.intents import Intent
from voiceguide.speech.recognizer import SAMPLE_RATE, Recognizer
from voiceguide.speech.select import ENGINES, make_recognizer

Int16 = npt.NDArray[np.int16]


@dataclass
class Tally:
    clips: dict[str, int] = field(default_factory=dict)
    accepted_yes_as_yes: int = 0
    accepted_no_as_no: int = 0
    non_no_accepted_as_no: int = 0
    unknown_rejected: int = 0
    silence_rejected: int = 0
    audio_seconds: float = 0.0
    decode_seconds: float = 0.0
    unreadable: int = 0


def generated_silence(n: int, seed: int) -> list[Int16]:
    """Silence and noise clips (1 s): digital silence, hiss at several levels, rumble, hum."""
    rng = np.random.default_rng(seed)
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    clips: list[Int16] = []
    for i in range(n):
        kind = i % 4
        level = 10 ** (rng.uniform(-70, -25) / 20)
        if kind == 0:
            x = np.zeros(SAMPLE_RATE)
        elif kind == 1:
            x = rng.normal(0, level, SAMPLE_RATE)
        elif kind == 2:
            x = np.cumsum(rng.normal(0, level, SAMPLE_RATE))
            x = (x - x.mean()) / (np.abs(x).max() + 1e-9) * level * 3
        else:
            x = level * 2 * np.sin(2 * np.pi * rng.choice([50.0, 60.0, 120.0]) * t)
            x += rng.normal(0, level / 4, SAMPLE_RATE)
        clips.append(np.clip(x * 32767, -32768, 32767).astype(np.int16))
    return clips


def mix_at_snr(speech: Int16, noise: Int16, snr_db: float, rng: np.random.Generator) -> Int16:
    s = speech.astype(np.float64)
    if len(noise) < len(s):
        noise = np.tile(noise, int(np.ceil(len(s) / max(1, len(noise)))))
    start = int(rng.integers(0, len(noise) - len(s) + 1))
    n = noise[start : start + len(s)].astype(np.float64)
    ps, pn = np.mean(s**2), np.mean(n**2)
    if ps == 0 or pn == 0:
        return speech
    n *= np.sqrt(ps / (pn * 10 ** (snr_db / 10)))
    return np.clip(s + n, -32768, 32767).astype(np.int16)


def noise_source(data: Path, seed: int) -> Int16:
    folder = data / "_background_noise_"
    if folder.is_dir():
        parts = [load_audio(p) for p in sorted(folder.glob("*.wav"))]
        if parts:
            return np.concatenate(parts)
    # Babble: several synthetic voices talking over each other.
    from voiceguide.speech.synthesis import Synthesizer

    synth = Synthesizer()
    words = "the weather was fine and we walked along the river to the market".split()  # noqa: SIM905
    rng = np.random.default_rng(seed)
    voices = [
        v for v in ("gmw/en-us", "gmw/en", "gmw/en-gb-x-rp", "gmw/en-029") if v in synth.voices
    ]
    tracks = []
    for v in voices:
        pcm = synth.render(" ".join(rng.permutation(words)), voice=v)
        tracks.append(to_mono16k(pcm.samples, pcm.sample_rate).astype(np.float64))
    length = min(len(t) for t in tracks)
    mixed: npt.NDArray[np.float64] = np.mean([t[:length] for t in tracks], axis=0)
    return mixed.astype(np.int16)


def run_bench(
    data: Path,
    recognizer: Recognizer,
    snr: float | None = None,
    limit: int | None = None,
    seed: int = 0,
    progress: bool = True,
) -> dict[str, object]:
    if not data.is_dir():
        raise FileNotFoundError(f"{data}: not a folder")
    folders = sorted(p for p in data.iterdir() if p.is_dir() and p.name != "_background_noise_")
    items: list[tuple[str, str | Int16]] = []
    for folder in folders:
        found = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".wav", ".flac"))
        wavs = found[:limit] if limit else found
        label = (
            "yes"
            if folder.name == "yes"
            else "no"
            if folder.name == "no"
            else "silence"
            if folder.name == "_silence_"
            else "unknown"
        )
        items += [(label, str(w)) for w in wavs]
    if not any(label in ("yes", "no") for label, _ in items):
        raise FileNotFoundError(f"{data}: no yes/ or no/ folder with .wav clips")
    if not any(label == "silence" for label, _ in items):
        items += [("silence", c) for c in generated_silence(40, seed)]
    rng = np.random.default_rng(seed)
    noise = noise_source(data, seed) if snr is not None else None
    tally = Tally()
    step = max(1, len(items) // 10)
    for i, (label, src) in enumerate(items, 1):
        try:
            audio = load_audio(src) if isinstance(src, str) else src
        except AudioFormatError as exc:
            tally.unreadable += 1
            print(f"bench asr: skipped {exc}", file=sys.stderr)
            continue
        if noise is not None and snr is not None:
            audio = mix_at_snr(audio, noise, snr, rng)
        tally.clips[label] = tally.clips.get(label, 0) + 1
        r = recognizer.recognize(audio, "yes_no")
        tally.audio_seconds += r.audio_seconds
        tally.decode_seconds += r.decode_seconds
        got = r.intent if r.accepted else None
        if label == "yes" and got is Intent.YES:
            tally.accepted_yes_as_yes += 1
        if label == "no" and got is Intent.NO:
            tally.accepted_no_as_no += 1
        if label != "no" and got is Intent.NO:
            tally.non_no_accepted_as_no += 1
        if label == "unknown" and not r.accepted:
            tally.unknown_rejected += 1
        if label == "silence" and not r.accepted:
            tally.silence_rejected += 1
        if progress and (i % step == 0 or i == len(items)):
            print(f"bench asr: {i}/{len(items)} clips", file=sys.stderr)
    c = tally.clips
    non_no = sum(v for k, v in c.items() if k != "no")

    def ratio(a: int, b: int) -> float | None:
        return round(a / b, 4) if b else None

    return {
        "engine": recognizer.name,
        "snr_db": snr,
        "accept_yes": ratio(tally.accepted_yes_as_yes, c.get("yes", 0)),
        "accept_no": ratio(tally.accepted_no_as_no, c.get("no", 0)),
        "unsafe_no": ratio(tally.non_no_accepted_as_no, non_no),
        "reject_unknown": ratio(tally.unknown_rejected, c.get("unknown", 0)),
        "reject_silence": ratio(tally.silence_rejected, c.get("silence", 0)),
        "clips": dict(sorted(c.items())),
        "unsafe_no_count": tally.non_no_accepted_as_no,
        "unreadable": tally.unreadable,
        "rtf": round(tally.decode_seconds / tally.audio_seconds, 4)
        if tally.audio_seconds
        else None,
        "tally": asdict(tally),
    }


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "asr",
        help="yes/no accuracy, unsafe 'no' rate and real-time factor on a clip folder",
        description=(
            "Run every clip of a Speech Commands style folder (one sub-folder per word; "
            "_unknown_, _silence_ and _background_noise_ optional) as its own red-flag "
            "question. Without _silence_, 40 silence and noise clips are generated."
        ),
        epilog=(
            "examples:\n"
            "  voiceguide bench asr --data ../shared/data/speech_commands_sample\n"
            "  voiceguide bench asr --data DIR --snr 10 --json"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", type=Path, required=True, metavar="DIR", help="clip folder")
    p.add_argument("--engine", choices=ENGINES, default="auto", help="recognizer (default auto)")
    p.add_argument("--lang", default="en", help="grammar language (default en)")
    p.add_argument("--snr", type=float, metavar="DB", help="mix in noise at this SNR")
    p.add_argument("--limit", type=int, metavar="N", help="at most N clips per folder")
    p.add_argument("--seed", type=int, default=0, help="noise and sampling seed")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    grammars = load_grammars(args.lang)
    try:
        recognizer = make_recognizer(args.engine, grammars)
        started = time.perf_counter()
        result = run_bench(args.data, recognizer, args.snr, args.limit, args.seed)
    except (FileNotFoundError, RuntimeError) as exc:
        print(f"voiceguide bench asr: {exc}", file=sys.stderr)
        return 2
    result["wall_seconds"] = round(time.perf_counter() - started, 2)
    if args.json:
        print(json.dumps(result))
        return 0
    for key in (
        "engine",
        "snr_db",
        "accept_yes",
        "accept_no",
        "unsafe_no",
        "reject_unknown",
        "reject_silence",
        "clips",
        "rtf",
        "wall_seconds",
    ):
        print(f"{key:15s} {result[key]}")
    return 0
