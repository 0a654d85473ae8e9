"""`voiceguide demo`, the README's main job: the real hands-free runtime in a simulated room.

The guide's speech is synthesized and echoed back into its microphone; the simulated
user's lines are synthesized in several voices and decoded by the real endpointer and
recognizer. Which lines are understood depends on the recognizer, so the checks here are
the ones that must hold whatever it hears: the safety routes, the bookkeeping of every
attempt per voice, and the files.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import soundfile

from tests.speechgen import speak
from voiceguide.content.loader import load_demo


def _demo(out: Path, *extra: str) -> tuple[list[dict[str, Any]], str]:
    proc = subprocess.run(
        [sys.executable, "-m", "voiceguide.cli", "demo", "--out", str(out), *extra],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return json.loads((out / "summary.json").read_text()), proc.stdout


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], str]:
    out = tmp_path_factory.mktemp("demo") / "out"
    summary, stdout = _demo(out)
    return out, {s["scenario"]: s for s in summary}, stdout


def test_demo_routes_are_safe_whatever_is_heard(demo: tuple[Path, dict[str, Any], str]) -> None:
    _, summary, stdout = demo
    # The fall: a "yes" (or an answer the guide could not make out twice) is an emergency.
    assert summary["emergency"]["routes"][0] == "emergency"
    assert summary["emergency"]["emergency_number_first_spoken_s"] is not None
    coaching = summary["coaching"]
    # The screening's attempts: every "no" said before the user's first other line.
    after = min((h["at"] for h in coaching["heard"] if h["said"] != "no"), default=1e9)
    screening = [h for h in coaching["heard"] if h["said"] == "no" and h["at"] < after]
    assert not [h for h in coaching["heard"] if h["outcome"] == "misheard" and h["said"] == "no"]
    if coaching["routes"][0] == "coaching":
        # Coaching only after six understood "no"s.
        assert sum(h["outcome"] == "understood" for h in screening) == 6, screening
        assert coaching["counts"] > 0 and coaching["first_movement_s"] is not None
    else:
        assert coaching["routes"][0] == "emergency"
        assert any(h["outcome"] != "understood" for h in screening), screening
    assert "guide: " in stdout and "user: " in stdout and "heard: " in stdout


def test_demo_coaching_shows_the_exercises_a_pause_and_a_resume(
    demo: tuple[Path, dict[str, Any], str],
) -> None:
    # The default cast is chosen so that the coaching route is shown, not only the
    # emergency one (prompts/en/demo.toml). While it was not, a paused session that spun
    # without ever sleeping (a stale wake-up time) went unseen: the demo hung there.
    out, summary, _ = demo
    coaching = summary["coaching"]
    assert coaching["routes"][0] == "coaching", coaching["heard"]
    assert coaching["counts"] > 0 and coaching["first_movement_s"] is not None
    log = out / "coaching" / "session.jsonl"
    events = [json.loads(line) for line in log.read_text().splitlines()]
    commands = [(e["name"], e["t"]) for e in events if e["type"] == "command"]
    paused = next((t for name, t in commands if name == "pause"), None)
    assert paused is not None, commands
    resumed = next((t for name, t in commands if name == "resume" and t > paused), None)
    assert resumed is not None, commands
    counts = [e["t"] for e in events if e["type"] == "count"]
    assert any(t > resumed for t in counts), "counting never went on after the pause"


def test_demo_speaks_in_several_voices_and_counts_rejections(
    demo: tuple[Path, dict[str, Any], str],
) -> None:
    _, summary, stdout = demo
    cast = set(load_demo().user_voices)
    used: set[str] = set()
    for s in summary.values():
        per_voice = s["rejections_per_voice"]
        used |= set(per_voice)
        assert set(per_voice) <= cast
        for voice, n in per_voice.items():
            mine = [h for h in s["heard"] if h["voice"] == voice]
            assert n["attempts"] == len(mine)
            for outcome in ("understood", "rejected", "unheard", "misheard"):
                assert n[outcome] == sum(h["outcome"] == outcome for h in mine)
        # Every attempt either answered its line or was tried again (up to three times).
        for h in s["heard"]:
            assert h["accepted"] == (h["outcome"] == "understood")
    assert len(used) >= 2, used
    assert "lines said, per voice" in stdout


def test_demo_writes_speech_the_microphone_and_logs(
    demo: tuple[Path, dict[str, Any], str],
) -> None:
    out, summary, _ = demo
    for scenario, s in summary.items():
        folder = out / scenario
        wavs = sorted(folder.glob("*-guide-*.wav"))
        assert wavs, scenario
        # Every sound the guide played has speech in it: an empty render is silence
        # where the listener needed words (pyttsx3 now and then writes an empty WAV).
        for wav in wavs:
            data, rate = soundfile.read(wav, dtype="int16")
            assert rate > 8000 and len(data) > rate // 10, wav.name
            assert abs(data).max() > 1000, wav.name
        mic, mic_rate = soundfile.read(folder / "microphone.wav", dtype="int16")
        assert mic_rate == 16_000
        assert len(mic) / mic_rate == pytest.approx(s["virtual_seconds"], abs=0.1)
        events = [json.loads(line) for line in (folder / "session.jsonl").read_text().splitlines()]
        types = {e["type"] for e in events}
        assert {"prompt", "route", "voice_stats"} <= types
        assert types & {"heard", "no_match"}
        stats = next(e for e in events if e["type"] == "voice_stats")
        # The guide's own voice reached its microphone and was never taken as an answer.
        assert stats["self_rejected"] >= 1 and s["self_rejected"] == stats["self_rejected"]


def test_demo_answers_with_recorded_clips(tmp_path: Path) -> None:
    clips = tmp_path / "clips"
    for word, suffix in (("yes", "flac"), ("no", "wav")):
        (clips / word).mkdir(parents=True)
        for k, voice in enumerate(("en-us", "en-us+m3")):
            soundfile.write(clips / word / f"{k}.{suffix}", speak(word, voice), 16_000)
    summary, stdout = _demo(tmp_path / "out", "--only", "emergency", "--user-clips", str(clips))
    (s,) = summary
    assert any(h["said"] == "no" for h in s["heard"])
    for h in s["heard"]:
        if h["said"] in ("yes", "no"):
            assert h["voice"] == f"clips:{h['said']}", h
        else:  # "say that again" has no folder: synthesized, and said so
            assert h["voice"] in load_demo().user_voices and "were synthesized" in stdout
    assert s["routes"][0] == "emergency"


def test_demo_rejects_unknown_scenario(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "voiceguide.cli", "demo", "--only", "nope", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2 and "no scenario 'nope'" in proc.stderr


def test_demo_rejects_a_missing_clip_folder(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "voiceguide.cli", "demo", "--user-clips", str(tmp_path / "x"),
         "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2 and "is not a folder" in proc.stderr


def test_demo_summary_reports_what_is_heard_when(demo: tuple[Path, dict[str, Any], str]) -> None:
    _, summary, stdout = demo
    # The number within the first five seconds of the emergency message.
    spoken_at = summary["emergency"]["emergency_number_first_spoken_s"]
    assert spoken_at is not None and 0 < spoken_at <= 5.0
    coaching = summary["coaching"]
    if coaching["routes"][0] == "coaching":
        # Launch to the first movement, with the simulated user's own time taken out; the
        # guide's own time asking again after a refused answer stays in, so the 45 s
        # target (issue 9) holds when every answer was understood at once.
        instant = coaching["first_movement_instant_answers_s"]
        assert instant is not None and instant > 20
        assert coaching["first_movement_s"] > instant
        before = [h for h in coaching["heard"] if h["at"] < coaching["first_movement_s"]]
        if all(h["outcome"] == "understood" for h in before):
            assert instant <= 45.0
        assert "first exercise movement" in stdout
