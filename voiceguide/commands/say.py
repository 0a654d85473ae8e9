"""``voiceguide say TEXT``: speak one sentence through the speech path the guide uses."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from voiceguide.audio.files import write_wav


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "say",
        help="speak TEXT with the guide's voice (or write it to a WAV file)",
        description="Render TEXT with pyttsx3/espeak-ng exactly as the guide does, then play "
        "it on the speaker, or write it to --wav without touching any audio device.",
        epilog="examples:\n  voiceguide say 'Lie on your back.'\n"
        "  voiceguide say --wav hello.wav --rate 0.8 'Hello'",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("text", help="what to say")
    p.add_argument("--voice", help="espeak-ng voice id, e.g. gmw/en-us (default: the locale's)")
    p.add_argument("--rate", type=float, default=1.0, help="speed, 0.5 to 1.6 (default 1)")
    p.add_argument("--wav", type=Path, metavar="FILE", help="write a WAV file instead of playing")
    p.add_argument("--output-device", metavar="NAME|INDEX", help="speaker to play on")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from voiceguide.speech.synthesis import SynthesisUnavailable, Synthesizer

    if not args.text.strip():
        print("voiceguide say: TEXT is empty", file=sys.stderr)
        return 2
    if not 0.5 <= args.rate <= 1.6:
        print("voiceguide say: --rate must be between 0.5 and 1.6", file=sys.stderr)
        return 2
    try:
        synth = Synthesizer(args.voice or "gmw/en-us")
    except SynthesisUnavailable as exc:
        print(f"voiceguide say: {exc}", file=sys.stderr)
        return 1
    if args.voice and not synth.knows(args.voice):
        print(f"voiceguide say: unknown voice {args.voice!r}", file=sys.stderr)
        return 2
    pcm = synth.render(args.text, args.voice, args.rate)
    if args.wav:
        write_wav(args.wav, pcm.samples, pcm.sample_rate)
        print(f"voiceguide say: wrote {pcm.seconds:.2f} s to {args.wav}")
        return 0
    from voiceguide.audio.devices import NoAudioDevice, Speaker, resolve

    try:
        speaker = Speaker(resolve(args.output_device, "output"))
    except NoAudioDevice as exc:
        print(f"voiceguide say: {exc}", file=sys.stderr)
        return 1
    speaker.play(pcm.samples, pcm.sample_rate)
    speaker.wait(pcm.seconds + 5)
    speaker.close()
    return 0
