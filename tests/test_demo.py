"""`voiceguide demo`, the README's main job: both routes, real TTS and recognizer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("demo") / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "voiceguide.cli", "demo", "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return out, proc.stdout


def test_demo_shows_both_routes(demo: tuple[Path, str]) -> None:
    out, stdout = demo
    summary = {s["scenario"]: s for s in json.loads((out / "summary.json").read_text())}
    assert summary["emergency"]["routes"] == ["emergency"]
    assert summary["coaching"]["routes"][0] == "coaching"
    assert summary["coaching"]["counts"] > 0
    # Every scripted line was understood by the real recognizer.
    for s in summary.values():
        assert all(h["accepted"] for h in s["heard"]), s["heard"]
    assert "guide: " in stdout and "user: " in stdout


def test_demo_summary_reports_what_is_heard_when(demo: tuple[Path, str]) -> None:
    out, stdout = demo
    summary = {s["scenario"]: s for s in json.loads((out / "summary.json").read_text())}
    # The number within the first five seconds of the emergency message.
    spoken_at = summary["emergency"]["emergency_number_first_spoken_s"]
    assert spoken_at is not None and 0 < spoken_at <= 5.0
    # Launch to the first movement, with the simulated user's own time taken out.
    coaching = summary["coaching"]
    instant = coaching["first_movement_instant_answers_s"]
    assert instant is not None and 20 < instant <= 45.0
    assert coaching["first_movement_s"] > instant
    assert "first exercise movement" in stdout and "emergency number first spoken" in stdout


def test_demo_writes_speech_and_logs(demo: tuple[Path, str]) -> None:
    out, _ = demo
    for scenario in ("emergency", "coaching"):
        folder = out / scenario
        wavs = sorted(folder.glob("*-guide-*.wav"))
        assert wavs, scenario
        data, rate = soundfile.read(wavs[0], dtype="int16")
        assert rate > 8000 and len(data) > rate // 2 and abs(data).max() > 1000
        events = [json.loads(line) for line in (folder / "session.jsonl").read_text().splitlines()]
        types = {e["type"] for e in events}
        assert {"prompt", "heard", "route"} <= types
    coaching = [
        json.loads(x) for x in (out / "coaching" / "session.jsonl").read_text().splitlines()
    ]
    commands = [e["name"] for e in coaching if e["type"] == "command"]
    assert "pause" in commands and "resume" in commands
    prompts = [e["prompt"] for e in coaching if e["type"] == "prompt"]
    assert "ready_wait" in prompts and "rest" in prompts


def test_demo_rejects_unknown_scenario(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "voiceguide.cli", "demo", "--only", "nope", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2 and "no scenario 'nope'" in proc.stderr
