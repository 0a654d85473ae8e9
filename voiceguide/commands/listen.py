"""``voiceguide listen``: what the recognizer makes of the microphone, or of WAV files."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from voiceguide.audio.files import AudioFormatError, load_audio
from voiceguide.audio.vad import RATE, Endpointer
from voiceguide.commands.common import add_audio_options
from voiceguide.content import load_grammars
from voiceguide.speech.recognizer import Recognition, Recognizer

HELP = """\
Print what the recognizer hears, one line per utterance, using the same grammars and
rejection as a session. With FILE arguments, each file (any format soundfile reads, any
rate) is one utterance; otherwise the microphone is split into utterances by the
endpointer until --seconds pass or Ctrl-C.
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "listen",
        help="print what the recognizer hears (microphone or WAV files)",
        description=HELP,
        epilog="examples:\n  voiceguide listen --grammar coaching\n"
        "  voiceguide listen answer.wav other.wav\n  voiceguide listen --seconds 20",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("files", nargs="*", type=Path, metavar="FILE", help="audio files to decode")
    p.add_argument("--grammar", default="yes_no", help="grammar to listen with (default yes_no)")
    p.add_argument("--lang", default="en", help="grammar language (default en)")
    p.add_argument("--seconds", type=float, metavar="S", help="stop listening after S seconds")
    add_audio_options(p)
    p.set_defaults(func=main)


def describe(r: Recognition) -> str:
    verdict = f"{r.intent} (score {r.score:.2f})" if r.accepted else f"rejected: {r.reason}"
    return f"{r.text or '-'}  ->  {verdict}  [{r.engine}, {r.audio_seconds:.2f} s]"


def main(args: argparse.Namespace) -> int:
    from voiceguide.speech.select import NoRecognizer, make_recognizer

    grammars = load_grammars(args.lang)
    if args.grammar not in grammars.grammars:
        known = ", ".join(sorted(grammars.grammars))
        print(f"voiceguide listen: no grammar {args.grammar!r}; known: {known}", file=sys.stderr)
        return 2
    try:
        recognizer = make_recognizer(args.engine, grammars)
    except (NoRecognizer, RuntimeError) as exc:
        print(f"voiceguide listen: {exc}", file=sys.stderr)
        return 1
    if args.files:
        return _files(args.files, recognizer, args.grammar)
    return _microphone(args, recognizer)


#: Audio files a folder given to ``listen`` is searched for.
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".mp3", ".aiff", ".aif", ".au")


def _expand(files: list[Path]) -> tuple[list[Path], int]:
    """Files as given, with each folder replaced by the audio files inside it."""
    out: list[Path] = []
    bad = 0
    for path in files:
        if not path.is_dir():
            out.append(path)
            continue
        found = sorted(
            p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES
        )
        if not found:
            kinds = ", ".join(AUDIO_SUFFIXES)
            print(f"{path}: a folder with no audio files ({kinds})", file=sys.stderr)
            bad += 1
        out += found
    return out, bad


def _files(files: list[Path], recognizer: Recognizer, grammar: str) -> int:
    files, bad = _expand(files)
    for path in files:
        try:
            audio = load_audio(path)
        except AudioFormatError as exc:
            print(f"{path}: {exc}", file=sys.stderr)
            bad += 1
            continue
        print(f"{path}: {describe(recognizer.recognize(audio, grammar))}", flush=True)
    return 1 if bad else 0


def _microphone(args: argparse.Namespace, recognizer: Recognizer) -> int:
    import numpy as np

    from voiceguide.audio.devices import Microphone, NoAudioDevice, resolve

    try:
        mic = Microphone(resolve(args.input_device, "input"))
    except NoAudioDevice as exc:
        print(f"voiceguide listen: {exc}", file=sys.stderr)
        return 1
    print(f"voiceguide listen: speak now ({recognizer.name}, grammar {args.grammar})", flush=True)
    end_ms = load_grammars(args.lang).grammars[args.grammar].end_silence_ms
    endpointer = Endpointer()
    endpointer.set_end_silence(end_ms)
    blocks: list[np.ndarray] = []
    deadline = time.monotonic() + args.seconds if args.seconds else None
    try:
        while deadline is None or time.monotonic() < deadline:
            block = mic.read(0.2)
            if block is None:
                if not mic.alive:
                    print("voiceguide listen: the microphone stopped", file=sys.stderr)
                    return 1
                continue
            blocks.append(block)
            segments = endpointer.feed(block)
            if segments:
                stream = np.concatenate(blocks)
                for seg in segments:
                    audio = stream[seg.start : seg.end]
                    print(describe(recognizer.recognize(audio, args.grammar)), flush=True)
            if len(blocks) * len(block) > 30 * RATE and not endpointer.in_speech:
                blocks = []  # offsets restart only between utterances
                endpointer = Endpointer()
                endpointer.set_end_silence(end_ms)
    finally:
        mic.close()
    return 0
