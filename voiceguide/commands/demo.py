"""``voiceguide demo``: both routes with a simulated user, on a machine with no sound card."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

from voiceguide.audio.files import to_mono16k, write_wav
from voiceguide.commands.common import UsageError, add_session_options, content_from, settings_from
from voiceguide.content.loader import load_demo
from voiceguide.runtime.demo import DemoRun
from voiceguide.speech.select import ENGINES, NoRecognizer, make_recognizer
from voiceguide.speech.synthesis import Pcm, SynthesisUnavailable, Synthesizer

HELP = """\
Watch the whole product work with no microphone or speaker. A simulated user answers
by voice: each answer is synthesized in a second voice and fed to the real recognizer
as audio. The guide's speech is synthesized too and written as WAV files, with the
JSON Lines event log, into one folder per scenario. Captions of both sides are printed.

Scenarios (prompts/<lang>/demo.toml): a fall that leads to the emergency route, and a
short coaching run with a pause, a resume and a pain check. Time is virtual, advanced by
the real length of every sound, so the demo takes seconds, not minutes.
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "demo",
        help="both routes with a simulated user; no audio hardware needed",
        description=HELP,
        epilog="example:\n  voiceguide demo --out demo-output\n  voiceguide demo --only emergency",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("demo-output"),
        metavar="DIR",
        help="folder for WAV files and logs (default demo-output; replaced)",
    )
    p.add_argument("--engine", choices=ENGINES, default="auto", help="recognizer (default auto)")
    p.add_argument("--only", metavar="SCENARIO", help="run one scenario by id")
    add_session_options(p)
    p.set_defaults(func=main, seed=None)


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


def main(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    try:
        settings = settings_from(args)
    except UsageError as exc:
        print(f"voiceguide demo: {exc}", file=sys.stderr)
        return 2
    if settings.seed is None:
        settings = settings.model_copy(update={"seed": 1})
    content = content_from(args)
    script = load_demo(args.lang, args.content)
    scenarios = [s for s in script.scenarios if args.only in (None, s.id)]
    if not scenarios:
        known = ", ".join(s.id for s in script.scenarios)
        print(f"voiceguide demo: no scenario {args.only!r}; known: {known}", file=sys.stderr)
        return 2
    try:
        synth = Synthesizer(content.locale.tts_voice)
        recognizer = make_recognizer(args.engine, content.grammars)
    except (SynthesisUnavailable, NoRecognizer, RuntimeError) as exc:
        print(f"voiceguide demo: {exc}", file=sys.stderr)
        return 1
    # The simulated user's lines first: espeak-ng's output drifts with what it rendered
    # before, so this keeps the user's voice the same whatever the guide says.
    synth.prerender(sorted({line.say for s in scenarios for line in s.lines}), script.user_voice)
    if args.out.exists():
        shutil.rmtree(args.out)
    print(f"voiceguide demo: recognizer {recognizer.name}, output in {args.out}/", flush=True)

    def voice(text: str, voice_id: str, rate: float, volume: float) -> Pcm:
        return synth.render(text, voice_id, rate).scaled(volume)

    summary = []
    for scenario in scenarios:
        folder = args.out / scenario.id
        folder.mkdir(parents=True, exist_ok=True)
        print(f"\n== {scenario.id}", flush=True)
        run = DemoRun(
            content,
            settings,
            scenario,
            script.user_voice,
            voice,
            recognizer,
            lambda s, r: to_mono16k(s, r),
            write_wav,
            folder,
            sys.stdout,
        )
        result = run.run()
        summary.append(
            {
                "scenario": result.scenario,
                "routes": result.routes,
                "end": result.end_reason,
                "prompts": result.prompts,
                "counts": result.counts,
                "heard": [{"said": s, "heard": h, "accepted": a} for s, h, a in result.heard],
                "virtual_seconds": round(result.virtual_seconds, 2),
                "first_movement_s": _round(result.first_movement_s),
                "first_movement_instant_answers_s": _round(result.first_movement_instant_s),
                "emergency_number_first_spoken_s": _round(result.emergency_number_s),
            }
        )
        print(
            f"-- {scenario.id}: routes {result.routes}, ended: {result.end_reason or 'open'}; "
            f"{result.prompts} prompts, {result.counts} counts, "
            f"{result.virtual_seconds:.0f} s of session",
            flush=True,
        )
        if result.first_movement_instant_s is not None:
            print(
                f"   first exercise movement {result.first_movement_s:.1f} s after launch "
                f"({result.first_movement_instant_s:.1f} s with instant answers)",
                flush=True,
            )
        if result.emergency_number_s is not None:
            print(
                f"   emergency number first spoken {result.emergency_number_s:.1f} s "
                "into the emergency message",
                flush=True,
            )
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(
        f"\nvoiceguide demo: done in {time.perf_counter() - started:.1f} s; "
        f"WAV files, session.jsonl and summary.json are in {args.out}/"
    )
    return 0
