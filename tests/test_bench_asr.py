"""`voiceguide bench asr` on a generated Speech Commands folder, and on the shared sample."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from tests.speechgen import speak

#: ../shared next to the clone (CI), or $VOICEGUIDE_SHARED (a worktree elsewhere).
SHARED = Path(os.environ.get("VOICEGUIDE_SHARED") or Path(__file__).resolve().parents[2] / "shared")
DEV = SHARED / "data" / "speech_commands_pool" / "dev"
KEYS = {"accept_yes", "accept_no", "unsafe_no", "reject_unknown", "reject_silence", "clips", "rtf"}
#: The floor a real "no" (and "yes") must clear, endpointed as live, on the first 30 clips
#: of each dev folder: measured 0.50 ("no") and 0.67 ("yes") with PocketSphinx alone on
#: 2026-11-26, so a recognizer that rejects everything (which would look "safe") fails.
ACCEPT_FLOOR = 0.3


def bench(*args: str) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-m", "voiceguide.cli", "bench", "asr", "--json", *args],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def test_bench_on_generated_folder(tmp_path: Path) -> None:
    words = {"yes": ["yes"], "no": ["no"], "house": ["house"], "pencil": ["pencil"]}
    for folder, said in words.items():
        (tmp_path / folder).mkdir()
        for i, w in enumerate(said):
            for voice in ("en-us+f2", "en-us+f4"):
                path = tmp_path / folder / f"{w}_{voice}_{i}.flac"  # FLAC, as in the pool
                soundfile.write(path, speak(w, voice), 16000)
    (tmp_path / "notes.txt").write_text("not audio")
    (tmp_path / "house" / "broken.wav").write_bytes(b"RIFF nonsense")
    result = bench("--data", str(tmp_path), "--engine", "pocketsphinx", "--silence", "22")
    assert set(result) >= KEYS
    assert result["method"] == "endpointed as live"
    assert result["clips"] == {"no": 2, "silence": 22, "unknown": 4, "yes": 2}
    assert result["unreadable"] == 1
    assert result["accept_yes"] == 1.0 and result["accept_no"] == 1.0
    assert result["unsafe_no"] == 0.0
    # What every real answer was taken for: here each "yes" for "yes", each "no" for "no".
    assert result["answers_heard_as"] == {"no": {"no": 2}, "yes": {"yes": 2}}
    assert isinstance(result["rtf"], float) and 0 < result["rtf"] < 1
    # "house" is a garbage word (the grammar has a rival for it); "pencil" is not.
    vocab = result["unknown_by_vocabulary"]
    assert isinstance(vocab, dict)
    assert vocab["modeled"]["clips"] == 2 and vocab["unmodeled"]["clips"] == 2
    folders = result["unsafe_no_by_folder"]
    assert isinstance(folders, dict)
    assert folders["house"]["clips"] == 2 and folders["pencil"]["unsafe_no"] == 0
    kinds = {k.split("/")[1] for k in folders if k.startswith("_silence_/")}
    assert {"knock", "cough", "breath", "music", "fan", "hum"} <= kinds
    whole = result["whole_clip"]
    assert isinstance(whole, dict) and set(whole) >= KEYS


def test_bench_bad_folder_is_a_clear_error(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "voiceguide.cli", "bench", "asr", "--data", str(tmp_path / "x")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode != 0 and "Traceback" not in proc.stderr and proc.stderr.strip()


@pytest.mark.skipif(not DEV.is_dir(), reason="../shared/data/speech_commands_pool is not here "
                    "(only CI and the team's machines have ../shared)")  # fmt: skip
def test_bench_on_real_voices_is_safe_and_lets_a_no_through() -> None:
    result = bench("--data", str(DEV), "--engine", "pocketsphinx", "--limit", "30",
                   "--live-only", "--silence", "33")  # fmt: skip
    assert set(result) >= KEYS
    assert isinstance(result["unsafe_no"], float) and result["unsafe_no"] <= 0.01
    # Safe by rejecting everything is not safe: a healthy person must get through.
    assert isinstance(result["accept_no"], float) and result["accept_no"] >= ACCEPT_FLOOR
    assert isinstance(result["accept_yes"], float) and result["accept_yes"] >= ACCEPT_FLOOR


def test_the_babble_is_the_same_whatever_this_process_said_before() -> None:
    """Every noisy figure is measured over this babble: espeak-ng's output depends on what
    its process rendered before, and the noisy figures moved between runs because of it."""
    from voiceguide.bench.asr import babble
    from voiceguide.speech.synthesis import Synthesizer

    first = babble(3)
    synth = Synthesizer(probe=False)
    for voice, rate in (("gmw/en-us+m3", 1.3), ("gmw/en-gb-scotland+f4", 0.7)):
        synth.render("something else entirely", voice=voice, rate=rate)
    again = babble(3)
    assert len(first) > 16000 and int(abs(first).max()) > 1000
    assert len(again) == len(first) and (again == first).all()


def test_every_clip_taken_for_no_is_named_so_it_can_be_heard() -> None:
    from voiceguide.bench.asr import Item, Tally, report
    from voiceguide.dialogue.intents import Intent
    from voiceguide.speech.recognizer import Recognition

    heard_no = Recognition("no", Intent.NO, 0.99, True)
    rejected = Recognition("go", None, 0.2, False, reason="low_score")
    tally = Tally()
    tally.add(Item("unknown", "go", True, Path("dev/go/a1_nohash_0.flac")), heard_no, 0.1, 1.0)
    tally.add(Item("unknown", "go", True, Path("dev/go/b2_nohash_1.flac")), rejected, 0.1, 1.0)
    tally.add(Item("no", "no", None, Path("dev/no/c3_nohash_0.flac")), heard_no, 0.1, 1.0)
    hum = np.zeros(16000, dtype=np.int16)  # generated non-speech has no file
    tally.add(Item("silence", "_silence_/hum", None, hum), heard_no, 0.1, 1.0)
    figures = tally.figures()
    # A real "no" taken for "no" is right and is not listed; a rejected "go" is not either.
    assert figures["unsafe_no_clips"] == ["_silence_/hum/generated", "go/a1_nohash_0.flac"]
    assert figures["unsafe_no_count"] == 2
    text = report({**figures, "engine": "e", "snr_db": None, "unreadable": 0})
    assert "  go/a1_nohash_0.flac" in text
