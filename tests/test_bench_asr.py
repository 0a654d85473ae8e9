"""`voiceguide bench asr` on a generated Speech Commands folder, and on the shared sample."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile

from tests.speechgen import speak

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "speech_commands_sample"
KEYS = {"accept_yes", "accept_no", "unsafe_no", "reject_unknown", "reject_silence", "clips", "rtf"}


def bench(*args: str) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-m", "voiceguide.cli", "bench", "asr", "--json", *args],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def test_bench_on_generated_folder(tmp_path: Path) -> None:
    words = {"yes": ["yes"], "no": ["no"], "_unknown_": ["house", "marvin", "tree"]}
    for folder, said in words.items():
        (tmp_path / folder).mkdir()
        for i, w in enumerate(said):
            for voice in ("en-us+f2", "en-us+f4"):
                soundfile.write(tmp_path / folder / f"{w}_{voice}_{i}.wav", speak(w, voice), 16000)
    (tmp_path / "notes.txt").write_text("not audio")
    (tmp_path / "_unknown_" / "broken.wav").write_bytes(b"RIFF nonsense")
    result = bench("--data", str(tmp_path), "--engine", "pocketsphinx")
    assert set(result) >= KEYS
    assert result["clips"] == {"no": 2, "silence": 40, "unknown": 6, "yes": 2}
    assert result["unreadable"] == 1
    assert result["accept_yes"] == 1.0 and result["accept_no"] == 1.0
    assert result["unsafe_no"] == 0.0
    assert isinstance(result["rtf"], float) and 0 < result["rtf"] < 1


def test_bench_bad_folder_is_a_clear_error(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "voiceguide.cli", "bench", "asr", "--data", str(tmp_path / "x")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode != 0 and "Traceback" not in proc.stderr and proc.stderr.strip()


@pytest.mark.skipif(not SAMPLE.is_dir(), reason="../shared/data/speech_commands_sample is not here "
                    "(only CI and the team's machines have ../shared)")  # fmt: skip
def test_bench_on_shared_sample_is_safe() -> None:
    result = bench("--data", str(SAMPLE), "--engine", "pocketsphinx")
    assert set(result) >= KEYS
    assert isinstance(result["unsafe_no"], float) and result["unsafe_no"] <= 0.003
