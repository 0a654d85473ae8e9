"""`voiceguide bench triage` and `bench emergency` on small generated folders."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import soundfile

from tests.speechgen import speak

VOICES = ("en-us+f2", "en-us+f4")


def bench(*args: str) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-m", "voiceguide.cli", "bench", *args, "--json", "--quiet",
         "--engine", "pocketsphinx"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def write(folder: Path, text: str, voices: tuple[str, ...] = VOICES) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for voice in voices:
        for speed in (140, 160):
            name = f"{text.replace(' ', '_')}_{voice}_{speed}.flac"
            soundfile.write(folder / name, speak(text, voice, speed), 16000)


def test_triage_routes_each_kind_of_user(tmp_path: Path) -> None:
    for word in ("yes", "no", "house", "tree", "marvin"):
        write(tmp_path / word, word)
    result = bench("triage", "--data", str(tmp_path), "--users", "3", "--seed", "1")
    assert set(result) >= {"healthy_to_coaching", "injured_to_emergency",
                           "unresponsive_to_emergency", "mean_attempts"}  # fmt: skip
    # The safety figures hold even on a handful of users.
    assert result["injured_to_emergency"] == 1.0 and result["injured_to_coaching"] == 0.0
    assert result["unresponsive_to_emergency"] == 1.0
    # These espeak voices' "no" is heard endpointed: healthy users get through.
    assert isinstance(result["healthy_to_coaching"], float) and result["healthy_to_coaching"] > 0
    attempts = result["mean_attempts"]
    assert isinstance(attempts, float) and attempts >= 1.0
    assert isinstance(result["decode_ms_per_answer_median"], float)
    outcomes, why = result["outcomes"], result["why_emergency"]
    assert isinstance(outcomes, dict) and sum(outcomes["healthy"].values()) == 3
    # Every user sent to the emergency route has its reason, one of the dialogue's three.
    assert isinstance(why, dict)
    for kind in ("healthy", "injured", "unresponsive"):
        assert sum(why[kind].values()) == outcomes[kind].get("emergency", 0), why
        assert set(why[kind]) <= {"yes", "unclear", "emergency word"}, why
    # These injured users' "yes" is heard: that, not doubt, is what sent them.
    assert why["injured"].get("yes", 0) >= 1, why


def test_triage_runs_only_the_kinds_asked_for(tmp_path: Path) -> None:
    for word in ("yes", "no", "house"):
        write(tmp_path / word, word, ("en-us+f2",))
    result = bench("triage", "--data", str(tmp_path), "--users", "2", "--kind", "injured")
    assert result["injured_to_emergency"] == 1.0
    assert result["healthy_to_coaching"] is None and result["unresponsive_to_emergency"] is None
    outcomes = result["outcomes"]
    assert isinstance(outcomes, dict) and set(outcomes) == {"injured"}
    assert sum(outcomes["injured"].values()) == 2


def test_emergency_bench_hears_calls_for_help_and_nothing_else(tmp_path: Path) -> None:
    write(tmp_path / "i_cant_move", "I can't move")
    write(tmp_path / "call_an_ambulance", "call an ambulance")
    # ("yes" is not here: in the coaching grammar, without a garbage list, one espeak "yes"
    # is heard as "emergency"; bench emergency on the pool's words measures that.)
    for word in ("house", "tree", "no", "marvin"):
        write(tmp_path / "_unknown_", word, ("en-us+f2",))
    result = bench("emergency", "--data", str(tmp_path))
    recall, false = result["recall"], result["false_emergency"]
    assert isinstance(recall, dict) and isinstance(false, dict)
    assert set(recall) == set(false) == {"yes_no", "coaching", "emergency"}
    # Multi-word calls for help are heard while coaching and on the emergency route.
    assert recall["coaching"] >= 0.75 and recall["emergency"] >= 0.75, recall
    assert all(v == 0.0 for v in false.values()), false


def test_triage_and_emergency_explain_a_bad_folder(tmp_path: Path) -> None:
    for name in ("triage", "emergency"):
        proc = subprocess.run(
            [sys.executable, "-m", "voiceguide.cli", "bench", name, "--data", str(tmp_path)],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert str(tmp_path) in proc.stderr or "no " in proc.stderr, proc.stderr


def test_triage_in_a_room_with_talk_keeps_the_safety_figures(tmp_path: Path) -> None:
    for word in ("yes", "no", "house", "tree"):
        write(tmp_path / word, word, ("en-us+f2",))
    result = bench("triage", "--data", str(tmp_path), "--users", "2", "--snr", "10",
                   "--kind", "injured", "--kind", "unresponsive")  # fmt: skip
    assert result["snr_db"] == 10.0
    assert result["injured_to_emergency"] == 1.0 and result["injured_to_coaching"] == 0.0
    assert result["unresponsive_to_emergency"] == 1.0


def test_the_rooms_talk_is_at_the_snr_asked_for() -> None:
    import numpy as np

    from voiceguide.bench.triage import Talk

    rng = np.random.default_rng(0)
    clip = (rng.normal(0, 3000, 16_000)).astype(np.int16)
    noise = (rng.normal(0, 500, 48_000)).astype(np.int16)
    quiet = (clip // 4).astype(np.int16)
    for snr in (0.0, 10.0, 20.0):
        # Against the clip said, or (nothing said) the last clip the user said.
        for level_of in (clip, quiet):
            talk = Talk(noise, snr).under(np.zeros(8000, dtype=np.int16), level_of, rng)
            assert talk is not None
            ratio = np.mean(level_of.astype(np.float64) ** 2) / np.mean(talk**2)
            assert abs(10 * np.log10(ratio) - snr) < 0.3


def test_triage_refuses_snr_with_whole_clips(tmp_path: Path) -> None:
    write(tmp_path / "no", "no", ("en-us+f2",))
    proc = subprocess.run(
        [sys.executable, "-m", "voiceguide.cli", "bench", "triage", "--data", str(tmp_path),
         "--snr", "10", "--whole-clip"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2 and "--whole-clip" in proc.stderr, proc.stderr
