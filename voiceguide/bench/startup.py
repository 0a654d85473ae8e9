"""``voiceguide bench startup``: launch to first spoken word, memory, and idle CPU.

Each run launches ``voiceguide run`` as a user would and records the speaker through a
PulseAudio monitor source in another process, so "first word" means the first sound that
really came out. Then, while the guide waits for the first answer (silence on the
microphone), it samples the process's CPU time. RSS is read from /proc. Separately, the
resident memory of a fresh process holding each available recognizer is measured.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from voiceguide.audio.vad import RATE
from voiceguide.bench.monitor import MonitorRecording
from voiceguide.bench.report import emit

SILENT_WAIT_S = 25.0  # long enough for the welcome, the intro and the first question
CPU_WINDOW_S = 5.0
LOUD = 500  # int16 peak that counts as sound on the monitor

ENGINE_PROBE = """
import sys, resource
from voiceguide.content import load_grammars
from voiceguide.speech.select import make_recognizer
from voiceguide.speech.model_store import packaged_model
lang, engine = sys.argv[1], sys.argv[2]
if engine == "vosk" and lang == "ko":
    from voiceguide.speech.vosk_engine import VoskRecognizer
    VoskRecognizer(load_grammars("ko"), model_path=packaged_model("ko"))
else:
    make_recognizer(engine, load_grammars(lang))
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_run(monitor: str, engine: str) -> dict[str, float]:
    recorder = MonitorRecording(monitor)
    time.sleep(0.5)  # the recorder is running before the launch
    launched = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "voiceguide.cli", "run", "--engine", engine,
         "--answer-timeout", "120"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        first: float | None = None
        deadline = launched + 15
        while first is None and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
            loud = np.flatnonzero(np.abs(recorder.so_far().astype(np.int32)) > LOUD)
            if loud.size:
                first = recorder.started + loud[0] / RATE
        if first is None:
            err = proc.stderr.read() if proc.poll() is not None and proc.stderr else ""
            raise RuntimeError(f"no sound from `voiceguide run` within 15 s {err}".strip())
        time.sleep(max(0.0, first + SILENT_WAIT_S - time.monotonic()))
        cpu0, t0 = _cpu_s(proc.pid), time.monotonic()
        time.sleep(CPU_WINDOW_S)
        cpu = (_cpu_s(proc.pid) - cpu0) / (time.monotonic() - t0)
        rss = _rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        recorder.stop()
    return {"first_word_s": first - launched, "idle_cpu_percent": cpu * 100, "rss_mb": rss}


def engine_rss() -> dict[str, float]:
    from voiceguide.speech.model_store import packaged_model

    probes = [("en", "pocketsphinx")]
    if packaged_model("ko") is not None:
        probes.append(("ko", "vosk"))
    out = {}
    for lang, engine in probes:
        proc = subprocess.run(
            [sys.executable, "-c", ENGINE_PROBE, lang, engine],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        if proc.returncode == 0:
            out[f"{engine}_{lang}_max_rss_mb"] = round(int(proc.stdout.split()[-1]) / 1024, 1)
    return out


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "startup",
        help="launch to first spoken word, RSS, and CPU while listening to silence",
        description=__doc__,
        epilog="example:\n  scripts/with-virtual-audio .venv/bin/voiceguide bench startup "
        "--monitor vspeaker.monitor",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--monitor",
        required=True,
        metavar="SOURCE",
        help="PulseAudio source that hears the speaker (vspeaker.monitor under "
        "scripts/with-virtual-audio)",
    )
    p.add_argument("--engine", default="auto", help="recognizer for `run` (default auto)")
    p.add_argument("--runs", type=int, default=3, help="launches to time (default 3)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    if args.runs < 1:
        print("voiceguide bench startup: --runs must be at least 1", file=sys.stderr)
        return 2
    runs = []
    try:
        for i in range(args.runs):
            runs.append(one_run(args.monitor, args.engine))
            print(f"bench startup: run {i + 1}/{args.runs}: {runs[-1]}", file=sys.stderr)
    except (RuntimeError, FileNotFoundError, subprocess.SubprocessError) as exc:
        print(f"voiceguide bench startup: {exc}", file=sys.stderr)
        return 1
    report: dict[str, object] = {
        key: round(float(np.median([r[key] for r in runs])), 3) for key in runs[0]
    }
    report["runs"] = len(runs)
    report.update(engine_rss())
    emit(report, args.json)
    return 0
