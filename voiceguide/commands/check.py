"""``voiceguide check``: what works on this machine, each with a pass/fail line and a fix."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from voiceguide.commands.common import add_audio_options
from voiceguide.commands.config import config_line

if TYPE_CHECKING:
    from voiceguide.audio.devices import DeviceInfo, Microphone, Speaker
    from voiceguide.content import Content
    from voiceguide.speech.recognizer import Recognizer
    from voiceguide.speech.synthesis import Synthesizer

HELP = """\
A self-test. Each line is PASS, FAIL or INFO, with what was found and, for a failure,
how to fix it:
  config       which config file is in use, and whether it is valid
  content      the prompts and grammars load and validate
  speech out   pyttsx3 and espeak-ng render a sentence
  recognizer   which engine 'auto' picks and why; it loads and decodes
  answer model the speech embedding and the trained head that verify yes/no load
               (FAIL: the recognizer falls back to PocketSphinx's stricter rejection)
  microphone   an input device exists and opens
  speaker      an output device exists and opens
  loopback     a yes played on the speaker (prompts/<lang>/demo.toml's loopback line,
               one try per voice listed there) is recognized through the microphone
               (INFO when the microphone cannot hear the speaker, e.g. headphones)
The exit code is 0 when nothing failed. Without audio devices, `voiceguide demo` and
`voiceguide run --text` still work; check says so.
"""


@dataclass
class Line:
    status: str  # PASS, FAIL, INFO
    name: str
    detail: str
    fix: str = ""


@dataclass
class Found:
    """What the earlier steps set up, for the later ones (the loopback uses them all)."""

    content: Content | None = None
    synth: Synthesizer | None = None
    recognizer: Recognizer | None = None
    mic: Microphone | None = None
    speaker: Speaker | None = None


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "check",
        help="self-test: engines, models, audio devices, speech output, loopback",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--lang", default="en", help="content language (default en)")
    p.add_argument("--no-loopback", action="store_true", help="skip the loopback test")
    add_audio_options(p)
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    lines: list[Line] = []

    def show(line: Line) -> None:
        lines.append(line)
        print(f"{line.status:4s}  {line.name:11s} {line.detail}", flush=True)
        if line.fix:
            print(f"{'':17s} fix: {line.fix}", flush=True)

    state = Found()
    steps: list[Callable[[argparse.Namespace, Found], Line]] = [
        lambda _args, _state: Line(*config_line()),
        _content,
        _speech_out,
        _recognizer,
        _answer_model,
        _microphone,
        _speaker,
    ]
    for step in steps:
        show(step(args, state))
    if not args.no_loopback:
        show(_loopback(state))
    for device in (state.speaker, state.mic):
        if device is not None:
            device.close()
    failed = [x.name for x in lines if x.status == "FAIL"]
    if failed:
        no_audio = {"microphone", "speaker"} & set(failed)
        tail = (
            " `voiceguide demo` and `voiceguide run --text` need no audio device."
            if (no_audio and len(failed) == len(no_audio))
            else ""
        )
        print(f"\ncheck: {len(failed)} failed ({', '.join(failed)}).{tail}")
        return 1
    print("\ncheck: everything passed")
    return 0


def _content(args: argparse.Namespace, state: Found) -> Line:
    from voiceguide.content import ContentError, load_content

    try:
        content = load_content(args.lang)
    except ContentError as exc:
        return Line("FAIL", "content", str(exc).splitlines()[0], "correct the file named above")
    state.content = content
    return Line(
        "PASS",
        "content",
        f"prompts/{args.lang} and grammars/{args.lang}: {len(content.screening.questions)} "
        f"questions, {len(content.routine.exercises)} exercises",
    )


def _speech_out(args: argparse.Namespace, state: Found) -> Line:
    from voiceguide.speech.synthesis import SynthesisUnavailable, Synthesizer, fix_hint

    try:
        synth = Synthesizer()
        started = time.perf_counter()
        voice = state.content.locale.tts_voice if state.content else None
        welcome = state.content.prompts.prompts["welcome"][0] if state.content else "ready"
        pcm = synth.render(welcome, voice)
        ms = (time.perf_counter() - started) * 1000
    except SynthesisUnavailable as exc:
        # Sessions still run, on printed captions and a tone (run says so at start).
        return Line("FAIL", "speech out", str(exc).replace(f"; {fix_hint()}", ""), fix_hint())
    state.synth = synth
    return Line(
        "PASS", "speech out", f"pyttsx3 + espeak-ng: {pcm.seconds:.1f} s rendered in {ms:.0f} ms"
    )


def _recognizer(args: argparse.Namespace, state: Found) -> Line:
    from voiceguide.speech.model_store import ModelError
    from voiceguide.speech.select import (
        NoRecognizer,
        checked_vosk_model,
        choose,
        make_recognizer,
    )

    content = state.content
    if content is None:
        return Line("FAIL", "recognizer", "not tried: the content did not load")
    try:
        choice = choose(args.engine, args.lang)
        if choice.engine == "vosk":
            checked_vosk_model(content.grammars)  # loads it in a child process first
    except ModelError as exc:
        fix = f"voiceguide models remove {args.lang}, then install it again"
        fallback = " (run falls back to PocketSphinx meanwhile)" if args.lang == "en" else ""
        return Line("FAIL", "recognizer", str(exc), fix + fallback)
    except NoRecognizer as exc:
        return Line("FAIL", "recognizer", str(exc), "see `voiceguide check --help`")
    try:
        started = time.perf_counter()
        recognizer = make_recognizer(args.engine, content.grammars)
        load_s = time.perf_counter() - started
    except (NoRecognizer, RuntimeError) as exc:
        return Line("FAIL", "recognizer", str(exc), "see `voiceguide check --help`")
    state.recognizer = recognizer
    missing = getattr(recognizer, "missing_words", {})
    note = f"; phrases not in the model's vocabulary: {missing}" if missing else ""
    return Line(
        "PASS", "recognizer", f"{recognizer.name} (loaded in {load_s:.1f} s): {choice.why}{note}"
    )


def _answer_model(args: argparse.Namespace, state: Found) -> Line:
    from voiceguide.speech.select import answer_model_status

    ok, detail = answer_model_status(args.lang)
    if ok:
        return Line("PASS", "answer model", detail)
    if args.lang != "en":
        return Line("INFO", "answer model", detail)
    return Line(
        "FAIL",
        "answer model",
        f"{detail}; yes/no falls back to PocketSphinx alone (safe, but it rejects more)",
        "run scripts/setup, or pip install --force-reinstall --no-deps openwakeword==0.5.1",
    )


def _microphone(args: argparse.Namespace, state: Found) -> Line:
    from voiceguide.audio.devices import Microphone, NoAudioDevice, list_devices, resolve

    try:
        index = resolve(args.input_device, "input")
        mic = Microphone(index)
    except NoAudioDevice as exc:
        return Line(
            "FAIL",
            "microphone",
            str(exc),
            "plug in a microphone, or choose one with --input-device (see `voiceguide devices`)",
        )
    state.mic = mic
    name = _name(list_devices(), index, "input")
    return Line("PASS", "microphone", f"{name}, 16 kHz mono")


def _speaker(args: argparse.Namespace, state: Found) -> Line:
    from voiceguide.audio.devices import NoAudioDevice, Speaker, list_devices, resolve

    try:
        index = resolve(args.output_device, "output")
        speaker = Speaker(index)
    except NoAudioDevice as exc:
        return Line(
            "FAIL",
            "speaker",
            str(exc),
            "connect a speaker, or choose one with --output-device (see `voiceguide devices`)",
        )
    state.speaker = speaker
    name = _name(list_devices(), index, "output")
    return Line("PASS", "speaker", f"{name}, {speaker.rate} Hz")


def _name(devices: list[DeviceInfo], index: int | None, kind: str) -> str:
    for d in devices:
        if (index is None and getattr(d, f"default_{kind}")) or d.index == index:
            return f"{d.name!r} (#{d.index})"
    return "the default device"


def _loopback(state: Found) -> Line:
    import numpy as np

    synth, recognizer, mic, speaker = state.synth, state.recognizer, state.mic, state.speaker
    if synth is None or recognizer is None or mic is None or speaker is None:
        return Line(
            "INFO",
            "loopback",
            "not tried: it needs speech out, a recognizer, a microphone and a speaker",
        )
    from voiceguide.content import load_demo

    content = state.content
    assert content is not None  # a recognizer exists only if the content loaded
    line = load_demo(content.locale.language).loopback
    said = line.say
    # One try per voice: a busy machine or sound server can clip one playback, and a user
    # who was not understood says it again too. Only the last attempt is reported.
    for voice in line.voices:
        pcm = synth.render(said, voice)
        while mic.read(0.0) is not None:
            pass  # drop what was heard before the test (blocks come every 30 ms)
        speaker.play(pcm.samples, pcm.sample_rate)
        blocks = []
        deadline = time.monotonic() + pcm.seconds + 1.5
        while time.monotonic() < deadline:
            block = mic.read(0.1)
            if block is not None:
                blocks.append(block)
        heard = np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.int16)
        level = float(np.abs(heard.astype(np.float32)).max()) if heard.size else 0.0
        if level < 300:
            return Line(
                "INFO",
                "loopback",
                "the microphone did not hear the speaker (normal with "
                "headphones or a muted microphone); nothing to recognize",
            )
        result = recognizer.recognize(heard, "yes_no")
        if result.accepted and result.intent is not None and result.intent.value == "yes":
            return Line(
                "PASS",
                "loopback",
                f"{said!r}, played on the speaker, was recognized through the microphone",
            )
    return Line(
        "FAIL",
        "loopback",
        f"the speaker was heard (peak {level:.0f}) but not recognized "
        f"({result.reason or result.text})",
        "move the microphone closer or lower the room noise; try `voiceguide listen`",
    )
