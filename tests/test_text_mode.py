"""`voiceguide run --text` end to end, as a user (or a script) would run it."""

from __future__ import annotations

import json
import os
import queue
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.helpers import content

N = len(content().screening.questions)
CMD = [sys.executable, "-m", "voiceguide.cli", "run", "--text", "--seed", "3"]


def run_piped(lines: list[str], tmp_path: Path, *extra: str) -> tuple[str, list[dict[str, object]]]:
    log = tmp_path / "session.jsonl"
    proc = subprocess.run(
        [*CMD, "--log", str(log), *extra],
        input="".join(f"{line}\n" for line in lines),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.stdout, [json.loads(line) for line in log.read_text().splitlines()]


class Live:
    """A running text session we can talk to while it counts."""

    def __init__(self, tmp_path: Path) -> None:
        self.log = tmp_path / "live.jsonl"
        self.proc = subprocess.Popen(
            [*CMD, "--time-scale", "8", "--log", str(self.log)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def say(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def expect(self, wanted: str, timeout: float = 30.0) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                continue
            self.seen.append(line)
            if wanted.lower() in line.lower():
                return
        raise AssertionError(f"never printed {wanted!r}; got:\n" + "\n".join(self.seen[-15:]))

    def close(self) -> tuple[int, list[dict[str, object]]]:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        code = self.proc.wait(timeout=30)
        return code, [json.loads(line) for line in self.log.read_text().splitlines()]


def test_yes_goes_to_emergency_and_log_is_private(tmp_path: Path) -> None:
    out, log = run_piped(["no", "yes"], tmp_path)
    assert "Do not try to put the hip back yourself" in out
    assert "call nine one one now" in out and "9" not in out
    routes = [r for r in log if r["type"] == "route"]
    assert routes == [routes[0]] and routes[0]["to"] == "emergency"
    assert routes[0]["cause"] == "yes"
    assert stat.S_IMODE(os.stat(tmp_path / "session.jsonl").st_mode) == 0o600
    types = {r["type"] for r in log}
    assert {"prompt", "heard", "answer", "route", "end"} <= types
    assert all("t" in r and "time" in r for r in log)
    answers = [(r["question"], r["value"]) for r in log if r["type"] == "answer"]
    assert answers == [("high_impact", "no"), ("cannot_bear_weight", "yes")]


def test_repeated_unclear_answers_go_to_emergency(tmp_path: Path) -> None:
    out, log = run_piped(["no", "no", "maybe", ""], tmp_path)
    assert "Please say yes or no." in out  # the rephrased question
    routes = [r for r in log if r["type"] == "route"]
    assert routes[0]["to"] == "emergency"
    assert routes[0]["reason"] == "no clear answer to deformity"
    assert routes[0]["cause"] == "unclear"


def test_end_of_input_ends_cleanly(tmp_path: Path) -> None:
    out, log = run_piped(["no"], tmp_path)
    assert out.rstrip().endswith("No more input, so I am closing the session.")
    assert log[-1]["type"] == "end" and log[-1]["reason"] == "input ended"


def test_log_appends_and_keeps_whole_lines(tmp_path: Path) -> None:
    run_piped(["yes"], tmp_path)
    run_piped(["help"], tmp_path)
    lines = (tmp_path / "session.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]  # every line parses
    assert sum(1 for r in records if r["type"] == "route") == 2


@pytest.mark.parametrize(
    "bad",
    [
        ["--region", "ZZ"],
        ["--emergency-number", "12ab"],
        ["--emergency-number", "+1234567890123456"],
        ["--emergency-number", "1+23"],
    ],
)
def test_bad_options_are_clear(tmp_path: Path, bad: list[str]) -> None:
    proc = subprocess.run([*CMD, *bad], input="", capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "voiceguide run:" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("number", "spoken"),
    [
        ("5551234", "five five five, one two three four"),
        ("+44 20 7946 0958", "plus four four two, zero seven nine, four six zero, nine five eight"),
    ],
)
def test_a_phone_number_of_ones_own_is_spoken_digit_by_digit(
    tmp_path: Path, number: str, spoken: str
) -> None:
    out, _ = run_piped(["yes"], tmp_path, "--emergency-number", number)
    assert f"call {spoken} now" in out and "nine one one" in out  # the region's, after it


def test_emergency_word_mid_exercise(tmp_path: Path) -> None:
    s = Live(tmp_path)
    for _ in range(N):
        s.say("no")
    s.expect("glute bridge")
    s.expect("say ready")
    s.say("ready")
    s.expect("two")
    s.say("I can't move")
    s.expect("Do not try to put the hip back")
    s.say("end session")
    code, log = s.close()
    assert code == 0
    assert [r["to"] for r in log if r["type"] == "route"] == ["coaching", "emergency"]
    counts = [r for r in log if r["type"] == "count"]
    assert counts and all(abs(float(r["actual"]) - float(r["scheduled"])) < 0.5 for r in counts)
    emergency_at = next(r["t"] for r in log if r["type"] == "route" and r["to"] == "emergency")
    assert all(float(r["actual"]) <= float(emergency_at) for r in counts)


def test_full_coaching_with_pause_resume_skip_stop(tmp_path: Path) -> None:
    s = Live(tmp_path)
    for _ in range(N):
        s.say("no")
    s.expect("glute bridge")
    s.expect("say ready")
    s.say("ready")
    s.expect("two")
    s.say("pause")
    s.expect("paused")
    s.say("resume")
    s.expect("one")
    s.say("skip")
    s.expect("clamshell")
    s.expect("say ready")
    s.say("it hurts")
    s.expect("mild ache")
    s.say("no")
    s.expect("rest")
    s.say("stop")
    s.expect("finish here")
    code, log = s.close()
    assert code == 0
    commands = [r["name"] for r in log if r["type"] == "command"]
    assert commands == ["resume", "pause", "resume", "skip", "pain", "stop"]
    assert log[-1]["type"] == "end" and log[-1]["reason"] == "stopped by the user"
