"""``voiceguide listen``: what the recognizer makes of the microphone, or of WAV files."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from voiceguide.audio.files import AudioFormatError, load_audio
from voiceguide.audio.vad import RATE, Endpointer
from voiceguide.commands.common import add_audio_options
from voiceguide.content import load_content
from voiceguide.content.models import Content
from voiceguide.runtime.utterance import (
    Decision,
    decide,
    pieces,
    superseded,
    with_following,
)
from voiceguide.speech.recognizer import Recognition, Recognizer

HELP = """\
Print what the recognizer hears, one line per utterance, decided exactly as a session
decides it: the same endpointer, grammars, rejection and decision code.

With FILE arguments (any format soundfile reads, any rate; a folder means the audio files
in it), each file is said into a quiet room: it is placed between stretches of room noise,
with its own background carried on around it (as a microphone left open would hear it),
cut into utterances by the session's endpointer and each piece is decoded. A file the
endpointer cuts in two prints two lines; one it finds no speech in says so. --whole
decodes each file as one utterance instead (the old way; not what a session hears).

Without files, the microphone is split into utterances until --seconds pass or Ctrl-C.
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "listen",
        help="print what the recognizer hears (microphone or WAV files)",
        description=HELP,
        epilog="examples:\n  voiceguide listen --grammar coaching\n"
        "  voiceguide listen answer.wav other.wav\n  voiceguide listen --seconds 20\n"
        "  voiceguide listen --whole clips/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("files", nargs="*", type=Path, metavar="FILE", help="audio files to decode")
    p.add_argument("--grammar", default="yes_no", help="grammar to listen with (default yes_no)")
    p.add_argument("--lang", default="en", help="grammar language (default en)")
    p.add_argument("--seconds", type=float, metavar="S", help="stop listening after S seconds")
    p.add_argument(
        "--whole",
        action="store_true",
        help="decode each FILE whole, as one utterance, not cut by the endpointer",
    )
    p.add_argument(
        "--seed", type=int, default=0, help="seed of the room noise around each FILE (default 0)"
    )
    add_audio_options(p)
    p.set_defaults(func=main)


def describe(r: Recognition) -> str:
    verdict = f"{r.intent} (score {r.score:.2f})" if r.accepted else f"rejected: {r.reason}"
    return f"{r.text or '-'}  ->  {verdict}  [{r.engine}, {r.audio_seconds:.2f} s]"


def main(args: argparse.Namespace) -> int:
    from voiceguide.speech.select import NoRecognizer, make_recognizer

    content = load_content(args.lang)
    grammars = content.grammars
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
        return _files(args, recognizer, content)
    return _microphone(args, recognizer, content)


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


def _files(args: argparse.Namespace, recognizer: Recognizer, content: Content) -> int:
    import numpy as np

    files, bad = _expand(args.files)
    for path in files:
        try:
            audio = load_audio(path)
        except AudioFormatError as exc:
            print(f"{path}: {exc}", file=sys.stderr)
            bad += 1
            continue
        if args.whole:
            print(f"{path}: {describe(recognizer.recognize(audio, args.grammar))}", flush=True)
            continue
        rng = np.random.default_rng(args.seed)
        cut = pieces(content, audio, args.grammar, rng)
        if not cut:
            print(f"{path}: -  ->  nothing heard (the endpointer found no speech)", flush=True)
        for piece, following in with_following(cut):
            d = decide(recognizer, content, piece.audio, args.grammar)
            dropped = "  (dropped: more speech followed at once)" * superseded(
                d, piece.segment, following
            )
            print(f"{path}: {_decided(d)}{dropped}")
        sys.stdout.flush()
    return 1 if bad else 0


def _decided(d: Decision) -> str:
    if d.result is None:
        return "-  ->  too short to decode"
    return describe(d.result)


def _microphone(args: argparse.Namespace, recognizer: Recognizer, content: Content) -> int:
    import numpy as np

    from voiceguide.audio.devices import Microphone, NoAudioDevice, resolve

    try:
        mic = Microphone(resolve(args.input_device, "input"))
    except NoAudioDevice as exc:
        print(f"voiceguide listen: {exc}", file=sys.stderr)
        return 1
    print(f"voiceguide listen: speak now ({recognizer.name}, grammar {args.grammar})", flush=True)
    end_ms = content.grammars.grammars[args.grammar].end_silence_ms
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
                    print(_decided(decide(recognizer, content, audio, args.grammar)), flush=True)
            if len(blocks) * len(block) > 30 * RATE and not endpointer.in_speech:
                blocks = []  # offsets restart only between utterances
                endpointer = Endpointer()
                endpointer.set_end_silence(end_ms)
    finally:
        mic.close()
    return 0
