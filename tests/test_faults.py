"""Issue 8: faults and hostile input never stand between a "yes" and the emergency advice.

Each test reproduces one case of the issue through the real ``voiceguide run --text``
process, and checks that the advice is printed after "yes" (where there is one), that
nothing crashes or hangs, and that the log stays valid JSON Lines.
"""

from __future__ import annotations

import json
import os
import random
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import content

CMD = [sys.executable, "-m", "voiceguide.cli", "run", "--text", "--seed", "3"]
#: A sentence only the emergency script holds (the advice itself).
ADVICE = "Stay still, and call nine one one now"  # the US number, said as digits


def run(
    stdin: bytes | None, *extra: str, timeout: float = 60, **kw: object
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*CMD, *extra],
        input=stdin,
        capture_output=True,
        timeout=timeout,
        **kw,  # type: ignore[arg-type]
    )


def records(path: Path) -> list[dict[str, object]]:
    """Every line of a log, each parsed (so a torn line fails the test)."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def assert_clean(proc: subprocess.CompletedProcess[bytes]) -> str:
    err = proc.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err, err
    assert proc.returncode == 0, err
    return err


# ---------------------------------------------------------------- 2: log faults


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_full_disk_under_log_keeps_the_advice_and_whole_records(tmp_path: Path) -> None:
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        # Leave one 4 kB page free: the log of these answers and a "yes" needs more
        # (about 5.4 kB).
        (mount / "filler").write_bytes(b"x" * 12 * 1024)
        log = mount / "session.jsonl"
        answers = b"no\nrepeat\nrepeat\nno\nrepeat\nrepeat\nno\nno\nyes\n"
        proc = run(answers, "--log", str(log))
        err = assert_clean(proc)
        assert ADVICE in proc.stdout.decode()
        assert err.count("cannot write the session log") == 1, err
        got = records(log)  # valid JSON Lines up to the last whole record
        assert got and got[0]["type"] == "prompt"
        assert log.read_bytes().endswith(b"\n")
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_dev_full_log_is_reported_once_and_the_session_goes_on() -> None:
    proc = run(b"yes\n", "--log", "/dev/full")
    err = assert_clean(proc)
    assert ADVICE in proc.stdout.decode()
    assert err.count("cannot write the session log /dev/full") == 1


@pytest.mark.parametrize("where", ["dev_full", "closed"])
def test_stdout_full_or_closed_still_prints_the_advice(where: str, tmp_path: Path) -> None:
    log = tmp_path / "s.jsonl"
    stdout: object = subprocess.DEVNULL
    if where == "dev_full":
        stdout = open("/dev/full", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.run(
        [*CMD, "--log", str(log)],
        input=b"yes\n",
        stdout=stdout if where == "dev_full" else None,
        stderr=subprocess.PIPE,
        timeout=60,
        # A closed descriptor 1 for the child, as `>&-` gives.
        preexec_fn=(lambda: os.close(1)) if where == "closed" else None,
    )
    if where == "dev_full":
        stdout.close()  # type: ignore[attr-defined]
    err = proc.stderr.decode()
    assert proc.returncode == 0 and "Traceback" not in err, err
    assert ADVICE in err  # printed where it can still be seen
    got = records(log)
    assert any(r["type"] == "route" and r["to"] == "emergency" for r in got)
    assert got[-1]["type"] == "end"


def test_log_on_a_fifo_without_reader_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    started = time.monotonic()
    proc = run(b"yes\n", "--log", str(fifo), timeout=20)
    assert time.monotonic() - started < 15
    assert proc.returncode == 2
    assert b"a pipe with no reader" in proc.stderr


def test_log_on_a_device_node_is_not_chmodded(tmp_path: Path) -> None:
    before = stat.S_IMODE(os.stat("/dev/null").st_mode)
    proc = run(b"yes\n", "--log", "/dev/null")
    assert_clean(proc)
    assert stat.S_IMODE(os.stat("/dev/null").st_mode) == before
    # A regular file is still made private.
    log = tmp_path / "open.jsonl"
    log.write_text("")
    log.chmod(0o644)
    assert_clean(run(b"yes\n", "--log", str(log)))
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


# ---------------------------------------------------------------- 3: bad bytes


def test_a_non_utf8_byte_with_log_still_gives_the_advice(tmp_path: Path) -> None:
    log = tmp_path / "s.jsonl"
    proc = run(b"no\nn\xffo\nyes\xff\n", "--log", str(log))
    assert_clean(proc)
    out = proc.stdout.decode()
    assert ADVICE in out
    got = records(log)
    heard = [r["text"] for r in got if r["type"] == "heard"]
    assert heard == ["no", "n\ufffdo", "yes\ufffd"]  # replacement characters, logged


def test_100_kb_of_random_bytes_ends_like_unclear_input(tmp_path: Path) -> None:
    log = tmp_path / "s.jsonl"
    noise = random.Random(8).randbytes(100_000)
    proc = run(noise, "--log", str(log))
    assert_clean(proc)
    assert ADVICE in proc.stdout.decode("utf-8")
    got = records(log)
    route = next(r for r in got if r["type"] == "route")
    assert route["to"] == "emergency"
    assert str(route["reason"]).startswith(("no clear answer", "yes to", "emergency word"))
    assert got[-1]["type"] == "end"


def test_a_huge_line_is_capped_in_the_log(tmp_path: Path) -> None:
    log = tmp_path / "s.jsonl"
    proc = run(b"n" * 5_000_000 + b"\nyes\n", "--log", str(log))
    assert_clean(proc)
    assert log.stat().st_size < 100_000
    heard = [r for r in records(log) if r["type"] == "heard"]
    assert len(str(heard[0]["text"])) < 5000


# ---------------------------------------------------------------- 6: --time-scale


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e308", "1e-9", "0", "-1", "x"])
def test_time_scale_accepts_only_finite_sane_values(value: str) -> None:
    proc = run(b"", f"--time-scale={value}", timeout=20)
    assert proc.returncode == 2
    assert b"--time-scale" in proc.stderr and b"Traceback" not in proc.stderr


def test_no_nan_or_infinity_ever_reaches_the_log(tmp_path: Path) -> None:
    log = tmp_path / "s.jsonl"
    assert_clean(run(b"no\n\nyes\n", "--log", str(log), "--time-scale", "1000"))
    text = log.read_text()
    assert "NaN" not in text and "Infinity" not in text
    records(log)


# ---------------------------------------------------------------- 7: closed stdin


def test_closed_stdin_ends_cleanly_without_endless_reminders(tmp_path: Path) -> None:
    log = tmp_path / "s.jsonl"
    proc = subprocess.run(
        [*CMD, "--log", str(log)],
        stdin=None,
        capture_output=True,
        timeout=30,
        preexec_fn=lambda: os.close(0),  # as `<&-`
    )
    assert_clean(proc)
    got = records(log)
    assert got[-1] == {**got[-1], "type": "end", "reason": "input ended"}
    assert sum(1 for r in got if r["type"] == "prompt") < 10


# ---------------------------------------------------------------- 10: signals


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signals_end_the_log_with_the_reason(sig: signal.Signals, tmp_path: Path) -> None:
    log = tmp_path / "s.jsonl"
    proc = subprocess.Popen(
        [*CMD, "--log", str(log)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    question = content().screening.questions[0]
    assert proc.stdout is not None
    for line in proc.stdout:  # wait for the first question: the session is running
        if any(a in line.decode() for a in question.ask):
            break
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 128 + sig, err.decode(errors="replace")
    assert f"stopped by signal {sig.name}".encode() in err and b"Traceback" not in err
    last = records(log)[-1]
    assert last["type"] == "end" and last["reason"] == f"signal {sig.name}"
