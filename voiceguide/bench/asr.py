"""``voiceguide bench asr``: recognition accuracy and safety on a Speech Commands folder.

Every clip is asked as its own red-flag question (grammar ``yes_no``) and decided the way
the hands-free runtime decides: the clip is placed in a stream with room noise before
and after it (and its own background carried on around it), cut by the runtime's
endpointer, decoded, rejected or accepted, and the first utterance the dialogue would be
told about is the answer (``runtime/utterance.py``). That is the headline. The old
method, the whole padded clip handed to the recognizer, is given beside it.

What matters most is ``unsafe_no``: how often anything that is not "no" (yes, other
words, unknown speech, silence, noise) is accepted as "no". It is printed per source
folder, and ``reject_unknown`` and unsafe "no" are split between words the grammar models
(its garbage list and phrases: it has a rival for them) and words it does not.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from voiceguide.audio.files import AudioFormatError, load_audio, to_mono16k
from voiceguide.bench import nonspeech
from voiceguide.bench.speechbench import (
    NOISE,
    SILENCE,
    UNKNOWN,
    Progress,
    add_options,
    audio_files,
    ratio,
    run_with_recognizer,
)
from voiceguide.content.models import Content
from voiceguide.dialogue.intents import Intent
from voiceguide.runtime.utterance import LEAD_S, TRAIL_S, decode_as_live, first_answer
from voiceguide.speech.recognizer import SAMPLE_RATE, Recognition, Recognizer

Int16 = npt.NDArray[np.int16]
Float = npt.NDArray[np.float64]

#: Generated non-speech clips when a folder has no _silence_.
DEFAULT_SILENCE = 99
METHODS = ("live", "whole")
#: Rendering four sentences takes about a second; this only bounds a wedged engine.
BABBLE_TIMEOUT_S = 120


@dataclass(frozen=True, slots=True)
class Item:
    #: "yes", "no", "unknown" or "silence".
    label: str
    #: Where it came from: the folder, or "_silence_/<kind>" for generated non-speech.
    folder: str
    #: For unknown speech: True if the grammar has a rival for it, None if not known.
    modeled: bool | None
    src: Path | Int16

    @property
    def file_name(self) -> str | None:
        """The recorded clip as folder/file (its room's seed, and how it is reported);
        None for generated audio."""
        return f"{self.folder}/{self.src.name}" if isinstance(self.src, Path) else None


def modeled_words(content: Content, grammar: str = "yes_no") -> set[str]:
    """What the yes/no grammar can land on instead of an answer: its garbage words and
    its other phrases. A word outside this set has no rival in the grammar."""
    book = content.grammars
    return set(book.garbage) | set(book.acoustic_phrase_map(grammar))


def folder_word(name: str) -> str:
    return name.replace("_", " ").strip().lower()


def collect(data: Path, limit: int | None, modeled: set[str]) -> list[Item]:
    if not data.is_dir():
        raise FileNotFoundError(f"{data}: not a folder")
    items: list[Item] = []
    for folder in sorted(p for p in data.iterdir() if p.is_dir() and p.name != NOISE):
        files = audio_files(folder)[:limit] if limit else audio_files(folder)
        name = folder.name
        if name in ("yes", "no"):
            label, is_modeled = name, None
        elif name == SILENCE:
            label, is_modeled = "silence", None
        elif name == UNKNOWN:
            label, is_modeled = "unknown", None
        else:
            label, is_modeled = "unknown", folder_word(name) in modeled
        items += [Item(label, name, is_modeled, f) for f in files]
    if not any(i.label in ("yes", "no") for i in items):
        raise FileNotFoundError(f"{data}: no yes/ or no/ folder with audio clips")
    return items


def mix_at_snr(speech: Int16, noise: Int16, snr_db: float, rng: np.random.Generator) -> Int16:
    """Noise over the clip only (the old, whole-clip method)."""
    gain = noise_gain(speech, noise, snr_db)
    if gain == 0:
        return speech
    n = noise_stretch(noise, len(speech), rng) * gain
    return np.clip(speech.astype(np.float64) + n, -32768, 32767).astype(np.int16)


def noise_gain(speech: Int16, noise: Int16, snr_db: float) -> float:
    ps = float(np.mean(speech.astype(np.float64) ** 2))
    pn = float(np.mean(noise.astype(np.float64) ** 2))
    if ps == 0 or pn == 0:
        return 0.0
    return float(np.sqrt(ps / (pn * 10 ** (snr_db / 10))))


def stream_noise(
    noise: Int16, clip: Int16, level_of: Int16, snr_db: float, rng: np.random.Generator
) -> Float | None:
    """``noise`` over the whole stream ``clip`` is said in (``place_in_room``), at
    ``snr_db`` under ``level_of``'s power (None: ``level_of`` is silent, no noise)."""
    gain = noise_gain(level_of, noise, snr_db)
    if not gain:
        return None
    return noise_stretch(noise, len(clip) + int((LEAD_S + TRAIL_S) * SAMPLE_RATE) + 1, rng) * gain


def noise_stretch(noise: Int16, n: int, rng: np.random.Generator) -> Float:
    if len(noise) < n:
        noise = np.tile(noise, int(np.ceil(n / max(1, len(noise)))) + 1)
    start = int(rng.integers(0, len(noise) - n + 1))
    return noise[start : start + n].astype(np.float64)


def babble(seed: int) -> Int16:
    """Several synthetic voices talking over each other, the same on every run.

    Rendered in a fresh process: espeak-ng's output depends on what its process rendered
    before (the same words came out a few samples apart, with different noise), so babble
    rendered after other speech differed from run to run, and so did every noisy figure.
    """
    code = (
        "import sys; from voiceguide.bench.asr import render_babble; "
        "sys.stdout.buffer.write(render_babble(int(sys.argv[1])).tobytes())"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(seed)], capture_output=True, timeout=BABBLE_TIMEOUT_S
    )
    if done.returncode != 0:
        lines = done.stderr.decode(errors="replace").strip().splitlines()
        raise RuntimeError(f"babble: {lines[-1] if lines else f'exit {done.returncode}'}")
    return np.frombuffer(done.stdout, dtype=np.int16).copy()


def render_babble(seed: int) -> Int16:
    """``babble`` in this process (its output depends on what was rendered before)."""
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
    if not tracks:
        raise RuntimeError("no espeak-ng English voice to make babble with")
    length = min(len(t) for t in tracks)
    mixed: Float = np.mean([t[:length] for t in tracks], axis=0)
    return mixed.astype(np.int16)


def noise_source(data: Path, seed: int) -> Int16:
    folder = data / NOISE
    if folder.is_dir():
        parts = [load_audio(p) for p in audio_files(folder)]
        if parts:
            return np.concatenate(parts)
    return babble(seed)


@dataclass
class Group:
    clips: int = 0
    rejected: int = 0
    as_no: int = 0

    def add(self, accepted: bool, as_no: bool) -> None:
        self.clips += 1
        self.rejected += not accepted
        self.as_no += as_no


@dataclass
class Tally:
    """One method's counts."""

    clips: Counter[str] = field(default_factory=Counter)
    yes_as_yes: int = 0
    no_as_no: int = 0
    non_no_as_no: int = 0
    unknown_rejected: int = 0
    silence_rejected: int = 0
    nothing_heard: Counter[str] = field(default_factory=Counter)
    #: What each real "yes" and "no" was taken for. A "no" taken for "yes" or for a call
    #: for help sends a healthy user to the emergency route at once; an unclear one only
    #: asks again.
    heard_as: dict[str, Counter[str]] = field(default_factory=dict)
    by_folder: dict[str, Group] = field(default_factory=dict)
    by_model: dict[str, Group] = field(default_factory=dict)
    #: Every clip that is not a "no" and was taken for one, so each can be listened to.
    unsafe_clips: list[str] = field(default_factory=list)
    decode_s: list[float] = field(default_factory=list)
    audio_s: float = 0.0

    def add(self, item: Item, result: Recognition | None, decode_s: float, audio_s: float) -> None:
        got = result.intent if result is not None and result.accepted else None
        accepted = got is not None
        label = item.label
        self.clips[label] += 1
        if result is None:
            self.nothing_heard[label] += 1
        self.yes_as_yes += label == "yes" and got is Intent.YES
        self.no_as_no += label == "no" and got is Intent.NO
        unsafe = label != "no" and got is Intent.NO
        self.non_no_as_no += unsafe
        if unsafe:
            self.unsafe_clips.append(item.file_name or f"{item.folder}/generated")
        if label in ("yes", "no"):
            heard = "unclear" if got is None else got.value
            self.heard_as.setdefault(label, Counter())[heard] += 1
        self.unknown_rejected += label == "unknown" and not accepted
        self.silence_rejected += label == "silence" and not accepted
        self.by_folder.setdefault(item.folder, Group()).add(accepted, unsafe)
        if label == "unknown":
            key = {True: "modeled", False: "unmodeled", None: "unlabelled"}[item.modeled]
            self.by_model.setdefault(key, Group()).add(accepted, unsafe)
        self.decode_s.append(decode_s)
        self.audio_s += audio_s

    def figures(self) -> dict[str, object]:
        c = self.clips
        non_no = sum(v for k, v in c.items() if k != "no")
        ds = sorted(self.decode_s)
        return {
            "accept_yes": ratio(self.yes_as_yes, c["yes"]),
            "accept_no": ratio(self.no_as_no, c["no"]),
            "unsafe_no": ratio(self.non_no_as_no, non_no),
            "reject_unknown": ratio(self.unknown_rejected, c["unknown"]),
            "reject_silence": ratio(self.silence_rejected, c["silence"]),
            "unsafe_no_count": self.non_no_as_no,
            "clips": dict(sorted(c.items())),
            "nothing_heard": dict(sorted(self.nothing_heard.items())),
            "answers_heard_as": {
                k: dict(sorted(v.items())) for k, v in sorted(self.heard_as.items())
            },
            "unknown_by_vocabulary": {
                k: {
                    "clips": g.clips,
                    "reject_unknown": ratio(g.rejected, g.clips),
                    "unsafe_no": ratio(g.as_no, g.clips),
                    "unsafe_no_count": g.as_no,
                }
                for k, g in sorted(self.by_model.items())
            },
            "unsafe_no_by_folder": {
                k: {"clips": g.clips, "unsafe_no": g.as_no, "rejected": g.rejected}
                for k, g in sorted(self.by_folder.items())
            },
            "unsafe_no_clips": sorted(self.unsafe_clips),
            "decode_ms_median": round(1000 * statistics.median(ds), 1) if ds else None,
            "decode_ms_p95": round(1000 * ds[int(0.95 * (len(ds) - 1))], 1) if ds else None,
            "rtf": round(sum(ds) / self.audio_s, 4) if self.audio_s else None,
        }


def decode_whole(recognizer: Recognizer, audio: Int16) -> tuple[Recognition | None, float]:
    r = recognizer.recognize(audio, "yes_no")
    return r, r.decode_seconds


def decode_live(
    recognizer: Recognizer,
    content: Content,
    audio: Int16,
    rng: np.random.Generator,
    noise: Float | None,
) -> tuple[Recognition | None, float]:
    decisions = decode_as_live(recognizer, content, audio, "yes_no", rng, noise)
    spent = sum(d.result.decode_seconds for d in decisions if d.result is not None)
    return first_answer(decisions), spent


def silence_items(n: int, seed: int, with_babble: bool) -> list[Item]:
    bab: Int16 | None = None
    if with_babble:
        try:
            bab = babble(seed + 1)
        except Exception as exc:  # synthesis missing here: the other kinds still run
            print(f"bench asr: no babble in the silence set ({exc})", file=sys.stderr)
    return [
        Item("silence", f"{SILENCE}/{c.kind}", None, c.samples)
        for c in nonspeech.generate(n, seed, bab)
    ]


def run_bench(
    data: Path,
    recognizer: Recognizer,
    content: Content,
    snr: float | None = None,
    limit: int | None = None,
    seed: int = 0,
    progress: bool = True,
    methods: Iterable[str] = METHODS,
    silence: int = DEFAULT_SILENCE,
) -> dict[str, object]:
    items = collect(data, limit, modeled_words(content))
    if not any(i.label == "silence" for i in items) and silence > 0:
        items += silence_items(silence, seed, with_babble=True)
    methods = tuple(methods)
    noise = noise_source(data, seed) if snr is not None else None
    tallies = {m: Tally() for m in methods}
    unreadable = 0
    rng = np.random.default_rng(seed)
    show = Progress("bench asr", len(items), progress)
    for i, item in enumerate(items, 1):
        try:
            audio = item.src if isinstance(item.src, np.ndarray) else load_audio(item.src)
        except AudioFormatError as exc:
            unreadable += 1
            print(f"bench asr: skipped {exc}", file=sys.stderr)
            continue
        # Each clip's own seed: the same clip gets the same room and noise whatever the
        # --limit, the methods or the order.
        name = item.file_name or str(i)
        clip_rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
        seconds = len(audio) / SAMPLE_RATE
        if "whole" in tallies:
            whole = audio if noise is None or snr is None else mix_at_snr(audio, noise, snr, rng)
            tallies["whole"].add(item, *decode_whole(recognizer, whole), seconds)
        if "live" in tallies:
            talk = None
            if noise is not None and snr is not None:
                talk = stream_noise(noise, audio, audio, snr, clip_rng)
            answer = decode_live(recognizer, content, audio, clip_rng, talk)
            tallies["live"].add(item, *answer, seconds)
        show.step(i)
    headline = "live" if "live" in tallies else "whole"
    out: dict[str, object] = {
        "engine": recognizer.name,
        "method": "endpointed as live" if headline == "live" else "whole clip",
        "snr_db": snr,
        **tallies[headline].figures(),
        "unreadable": unreadable,
    }
    if headline == "live" and "whole" in tallies:
        out["whole_clip"] = tallies["whole"].figures()
    return out


FIGURES = ("accept_yes", "accept_no", "unsafe_no", "reject_unknown", "reject_silence")


def report(result: dict[str, object]) -> str:
    whole = result.get("whole_clip")
    w = whole if isinstance(whole, dict) else {}
    lines = [
        f"engine {result['engine']}, yes_no grammar, SNR {result['snr_db'] or 'clean'}",
        f"{'figure':18s} {'endpointed (live)':>18s} {'whole clip':>12s}",
    ]
    for key in (*FIGURES, "decode_ms_median", "decode_ms_p95", "rtf"):
        lines.append(f"{key:18s} {fmt(result.get(key)):>18s} {fmt(w.get(key)):>12s}")
    heard = result.get("answers_heard_as")
    if isinstance(heard, dict):
        for said, counts in heard.items():
            taken = ", ".join(f"{k} {v}" for k, v in counts.items())
            lines.append(f"real '{said}' taken for (endpointed): {taken}")
    vocab = result.get("unknown_by_vocabulary")
    wv = w.get("unknown_by_vocabulary", {})
    if isinstance(vocab, dict) and vocab:
        lines.append("unknown words, by whether the grammar models them (garbage list/phrases):")
        for k, g in vocab.items():
            o = wv.get(k, {})
            lines.append(
                f"  {k:11s} {g['clips']:5d} clips  reject {fmt(g['reject_unknown'])}"
                f"  unsafe no {g['unsafe_no_count']} ({fmt(g['unsafe_no'])})"
                f"   whole: reject {fmt(o.get('reject_unknown'))}, unsafe no "
                f"{o.get('unsafe_no_count', '-')}"
            )
    folders = result.get("unsafe_no_by_folder")
    wf = w.get("unsafe_no_by_folder", {})
    if isinstance(folders, dict):
        lines.append("heard as 'no', per source folder (endpointed / whole clip):")
        for k, g in folders.items():
            o = wf.get(k, {})
            flag = "   <-- unsafe" if k != "no" and (g["unsafe_no"] or o.get("unsafe_no")) else ""
            said = "accepted" if k == "no" else "as no"
            if k == "no":
                lines.append(f"  {k:22s} {g['clips']:5d} clips, {said} by the real 'no' row above")
                continue
            lines.append(
                f"  {k:22s} {g['clips']:5d} clips, {said}: {g['unsafe_no']} / "
                f"{o.get('unsafe_no', '-')}{flag}"
            )
    unsafe = result.get("unsafe_no_clips")
    if isinstance(unsafe, list) and unsafe:
        lines.append("taken for 'no' (endpointed; listen to these):")
        lines += [f"  {name}" for name in unsafe]
    lines.append(f"clips {result['clips']}, unreadable {result['unreadable']}")
    return "\n".join(lines)


def fmt(x: object) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.4f}" if x < 10 else f"{x:.1f}"
    return str(x)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "asr",
        help="yes/no accuracy and the unsafe 'no' rate, decoded as the runtime decodes",
        description=(
            "Ask every clip of a Speech Commands style folder (one sub-folder per word, any "
            "audio format soundfile reads; _unknown_, _silence_ and _background_noise_ "
            "optional) as its own red-flag question. Headline: each clip is placed in a "
            "stream with room noise before and after it (its own background carried on "
            "around it), cut by the runtime's endpointer "
            "and decided as live. Beside it: the whole clip given to the recognizer (the old "
            "method). Without _silence_, realistic non-speech is generated (knocks, clicks, "
            "clatter, coughs, breaths, hum, fan, music, babble, hiss; three levels). Unknown "
            "words are split into those the grammar models (garbage list, phrases) and "
            "those it does not."
        ),
        epilog=(
            "examples:\n"
            "  voiceguide bench asr --data ../shared/data/speech_commands_pool/dev\n"
            "  voiceguide bench asr --data DIR --limit 20 --engine pocketsphinx\n"
            "  voiceguide bench asr --data DIR --snr 10 --json"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", type=Path, required=True, metavar="DIR", help="clip folder")
    p.add_argument("--snr", type=float, metavar="DB", help="mix in noise at this SNR")
    p.add_argument("--limit", type=int, metavar="N", help="at most N clips per folder")
    p.add_argument(
        "--silence",
        type=int,
        default=DEFAULT_SILENCE,
        metavar="N",
        help=f"generated non-speech clips when there is no _silence_ (default {DEFAULT_SILENCE})",
    )
    p.add_argument(
        "--live-only", action="store_true", help="skip the whole-clip figures (half the time)"
    )
    add_options(p, whole_clip=False)
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    result = run_with_recognizer(
        "asr",
        args,
        lambda recognizer, content: run_bench(
            args.data,
            recognizer,
            content,
            args.snr,
            args.limit,
            args.seed,
            progress=not args.quiet,
            methods=("live",) if args.live_only else METHODS,
            silence=args.silence,
        ),
    )
    if result is None:
        return 2
    print(json.dumps(result) if args.json else report(result))
    return 0
