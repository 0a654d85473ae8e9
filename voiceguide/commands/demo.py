"""``voiceguide demo``: both routes with a simulated user, on a machine with no sound card."""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from collections import Counter
from pathlib import Path

from voiceguide.audio.files import AudioFormatError, load_audio, to_mono16k, write_wav
from voiceguide.audio.memory import RoomSpec
from voiceguide.commands.common import UsageError, add_session_options, content_from, settings_from
from voiceguide.content.loader import load_demo
from voiceguide.runtime.demo import RETRY_RATES, DemoResult, DemoRun, Int16
from voiceguide.speech.select import ENGINES, NoRecognizer, make_recognizer
from voiceguide.speech.synthesis import SynthesisUnavailable, Synthesizer

HELP = """\
Watch the whole product work with no microphone or speaker. The real hands-free session
runs on a simulated room in virtual time: the guide's speech is synthesized and played
into the room, and its microphone hears it back (echo, a reverberant tail if asked for,
a noise floor) along with a simulated user. The user's lines are synthesized in several espeak-ng
voices, one line in each voice in turn (or taken from recorded clips, --user-clips),
and spoken when a person would speak them; the runtime's endpointer and recognizer
decide what was heard, as live. A line that is not understood is said again, slower,
as people do. The guide's speech is written as WAV files, with what the microphone
heard (microphone.wav), the JSON Lines event log and summary.json, into one folder per
scenario. Captions of both sides are printed, stamped with the session's time.

Scenarios (prompts/<lang>/demo.toml): a fall that leads to the emergency route, and a
short coaching run with a pause, a resume and a pain check. Time is virtual, so the demo
takes seconds, not minutes, and the same options give the same run.
"""

EPILOG = """\
examples:
  voiceguide demo --out demo-output
  voiceguide demo --only emergency
  voiceguide demo --user-clips ~/clips     (folders yes/, no/, ... of recordings)
  voiceguide demo --echo-gain 0            (a room with perfect echo cancellation)
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "demo",
        help="both routes with a simulated user; no audio hardware needed",
        description=HELP,
        epilog=EPILOG,
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
    p.add_argument(
        "--user-clips",
        type=Path,
        metavar="DIR",
        help="answer with recordings: DIR has a folder per line (yes/, no/, end_session/...) "
        "of audio files in any format soundfile reads; lines without a folder are "
        "synthesized",
    )
    p.add_argument(
        "--voices",
        metavar="V[,V...]",
        help="the simulated user's espeak-ng voices, taking lines in turn (default: "
        "demo.toml's user_voices; see `espeak-ng --voices=en`; e.g. gmw/en-us+f2)",
    )
    room = p.add_argument_group("simulated room")
    default = RoomSpec()
    room.add_argument(
        "--echo-gain",
        type=float,
        default=default.echo_gain,
        metavar="X",
        help=f"level of the guide's voice at its microphone (default {default.echo_gain}; "
        "0: no echo)",
    )
    room.add_argument(
        "--reverb",
        type=float,
        default=default.reverb_s,
        metavar="SECONDS",
        help=f"reverberation time of the room (default {default.reverb_s}: none); the guide "
        "then decodes its own echo at several times the CPU cost (BENCHMARKS.md)",
    )
    room.add_argument(
        "--noise",
        type=float,
        default=default.noise_dbfs,
        metavar="DBFS",
        help=f"noise floor, RMS in dB below full scale (default {default.noise_dbfs})",
    )
    add_session_options(p)
    p.set_defaults(func=main, seed=None)


class _Clips:
    """Recorded answers: a folder per line, a fresh clip for every attempt."""

    def __init__(self, root: Path, seed: int) -> None:
        if not root.is_dir():
            raise UsageError(f"--user-clips: {root} is not a folder")
        self.root = root
        self.rng = random.Random(seed)
        self.files: dict[str, list[Path]] = {}
        self.missing: set[str] = set()

    def folder(self, text: str) -> str:
        return text.strip().lower().replace(" ", "_")

    def pick(self, text: str) -> tuple[Int16, str] | None:
        name = self.folder(text)
        if name not in self.files:
            folder = self.root / name
            found = sorted(f for f in folder.iterdir() if f.is_file()) if folder.is_dir() else []
            self.files[name] = found
        while self.files[name]:
            path = self.files[name].pop(self.rng.randrange(len(self.files[name])))
            try:
                audio = load_audio(path)
                print(f"          (clip {path})", flush=True)
                return audio, f"clips:{name}"
            except AudioFormatError as exc:
                print(f"voiceguide demo: skipping {exc}", file=sys.stderr)
        return None


def main(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    try:
        settings = settings_from(args)
        if args.echo_gain < 0 or args.reverb < 0:
            raise UsageError("--echo-gain and --reverb must not be negative")
        clips = _Clips(args.user_clips, 1) if args.user_clips else None
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
        echo = frozenset(content.spoken_words())
        counts = frozenset(content.prompts.count_words)
        recognizer = make_recognizer(args.engine, content.grammars, echo, counts)
    except (SynthesisUnavailable, NoRecognizer, RuntimeError) as exc:
        print(f"voiceguide demo: {exc}", file=sys.stderr)
        return 1
    # The simulated user's lines first: espeak-ng's output drifts with what it rendered
    # before, so this keeps the user's voice the same whatever the guide says.
    synth.prerender(sorted({line.say for s in scenarios for line in s.lines}), script.user_voice)
    if args.out.exists():
        shutil.rmtree(args.out)
    print(f"voiceguide demo: recognizer {recognizer.name}, output in {args.out}/", flush=True)
    voices = args.voices.split(",") if args.voices else script.user_voices
    unknown = [v for v in voices if not synth.knows(v)]
    if unknown:
        print(f"voiceguide demo: espeak-ng lacks {unknown}; its default voice says those lines")

    def user(text: str, attempt: int, line_no: int) -> tuple[Int16, str]:
        if clips is not None:
            clip = clips.pick(text)
            if clip is not None:
                return clip
            clips.missing.add(clips.folder(text))
        voice = voices[line_no % len(voices)]
        rate = RETRY_RATES[min(attempt, len(RETRY_RATES) - 1)]
        pcm = synth.render(text, voice, rate)
        return to_mono16k(pcm.samples, pcm.sample_rate), voice

    summary = []
    results: list[DemoResult] = []
    for scenario in scenarios:
        folder = args.out / scenario.id
        folder.mkdir(parents=True, exist_ok=True)
        print(f"\n== {scenario.id}", flush=True)
        room = RoomSpec(
            echo_gain=args.echo_gain,
            reverb_s=args.reverb,
            noise_dbfs=args.noise,
            seed=settings.seed or 0,
        )
        run = DemoRun(
            content, settings, scenario, user, recognizer, synth, write_wav, folder, room=room
        )
        result = run.run()
        results.append(result)
        summary.append(_summary(result))
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
    _print_voices(results)
    if clips is not None and clips.missing:
        print(f"no clips for {sorted(clips.missing)}: those lines were synthesized")
    print(
        f"\nvoiceguide demo: done in {time.perf_counter() - started:.1f} s; "
        f"WAV files, session.jsonl and summary.json are in {args.out}/"
    )
    return 0


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


def _summary(result: DemoResult) -> dict[str, object]:
    return {
        "scenario": result.scenario,
        "routes": result.routes,
        "end": result.end_reason,
        "prompts": result.prompts,
        "counts": result.counts,
        "heard": [
            {
                "said": a.said,
                "heard": a.heard,
                "accepted": a.outcome == "understood",
                "voice": a.voice,
                "outcome": a.outcome,
                "at": round(a.at, 2),
            }
            for a in result.attempts
        ],
        "rejections_per_voice": result.per_voice(),
        "heard_with_nobody_speaking": result.phantoms,
        "barge_ins": result.barge_ins,
        "self_rejected": result.self_rejected,
        "virtual_seconds": round(result.virtual_seconds, 2),
        "first_movement_s": _round(result.first_movement_s),
        "first_movement_instant_answers_s": _round(result.first_movement_instant_s),
        "emergency_number_first_spoken_s": _round(result.emergency_number_s),
    }


def _print_voices(results: list[DemoResult]) -> None:
    total: dict[str, Counter[str]] = {}
    for r in results:
        for voice, counts in r.per_voice().items():
            total.setdefault(voice, Counter()).update(counts)
    print("\nlines said, per voice: attempts, understood, rejected, unheard, misheard")
    for voice, c in sorted(total.items()):
        print(
            f"  {voice:28s} {c['attempts']:3d} {c['understood']:3d} {c['rejected']:3d} "
            f"{c['unheard']:3d} {c['misheard']:3d}"
        )
