"""What the recognition benches (``asr``, ``triage``, ``emergency``) share: their common
options, progress lines on long runs, audio file discovery, and loading the recognizer
with a clear error instead of a traceback."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import soundfile

from voiceguide.content import load_content
from voiceguide.content.models import Content
from voiceguide.speech.recognizer import Recognizer
from voiceguide.speech.select import ENGINES, make_recognizer

#: Folders of a Speech Commands style set that are not words.
SILENCE, UNKNOWN, NOISE = "_silence_", "_unknown_", "_background_noise_"


def audio_suffixes() -> set[str]:
    """File name endings soundfile can read here (wav, flac, ogg, mp3, aiff...)."""
    suffixes = {f".{k.lower()}" for k in soundfile.available_formats()}
    return suffixes | {".aif", ".oga", ".opus"}


def audio_files(folder: Path) -> list[Path]:
    ok = audio_suffixes()
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in ok)


def ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


class Progress:
    """A line on stderr every few seconds on long runs: done, rate, time left."""

    def __init__(self, what: str, total: int, enabled: bool = True, every_s: float = 5.0):
        self.what, self.total, self.enabled, self.every_s = what, total, enabled, every_s
        self.started = self.last = time.monotonic()

    def step(self, done: int) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self.last < self.every_s and done != self.total):
            return
        self.last = now
        rate = done / max(1e-9, now - self.started)
        left = (self.total - done) / rate if rate else 0.0
        print(
            f"{self.what}: {done}/{self.total} ({rate:.1f}/s, about {left:.0f} s left)",
            file=sys.stderr,
            flush=True,
        )


def add_options(p: argparse.ArgumentParser, whole_clip: bool = True) -> None:
    """--engine (any engine ``speech.select`` knows), --lang, --seed, --json, --quiet and
    --whole-clip (the old method, for a figure beside the new)."""
    p.add_argument("--engine", choices=ENGINES, default="auto", help="recognizer (default auto)")
    p.add_argument("--lang", default="en", help="content language (default en)")
    p.add_argument("--seed", type=int, default=0, help="seed for rooms, noise and draws")
    if whole_clip:
        p.add_argument(
            "--whole-clip",
            action="store_true",
            help="decode each clip whole with 0.3 s of silence either side, not endpointed "
            "(the old method, to compare)",
        )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")


def run_with_recognizer(
    name: str,
    args: argparse.Namespace,
    run: Callable[[Recognizer, Content], dict[str, object]],
) -> dict[str, object] | None:
    """Load the content and the recognizer, run, add the wall time; None after printing
    one clear line when the data or an engine cannot be used."""
    content = load_content(args.lang)
    try:
        recognizer = make_recognizer(args.engine, content.grammars)
        started = time.perf_counter()
        result = run(recognizer, content)
    except (FileNotFoundError, RuntimeError) as exc:
        print(f"voiceguide bench {name}: {exc}", file=sys.stderr)
        return None
    result["wall_seconds"] = round(time.perf_counter() - started, 2)
    return result
