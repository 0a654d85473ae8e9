"""The session log: JSON Lines, one event per line, private to the user (mode 0600).

Each line is written with a single ``os.write`` on an ``O_APPEND`` descriptor, so lines
from one session never interleave or tear, even if two writers share a file.

A log is never allowed to stand between the user and the guide: a write that fails (disk
full, ``/dev/full``, a pipe whose reader stalled) is reported once and the session goes
on. A record cut short by a full disk is taken back off the file, so the file stays valid
JSON Lines up to its last whole record.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import stat
import sys
from collections.abc import Callable
from dataclasses import fields, is_dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

#: The most characters of one text field that are logged (a 50 MB typed line is not).
MAX_TEXT = 2000
#: Characters JSON leaves raw but many line readers (Python's splitlines) take as line
#: breaks: escaped, so one record is always one line.
_LINE_BREAKS = {c: f"\\u{c:04x}" for c in (0x85, 0x2028, 0x2029)}


def _to_stderr(message: str) -> None:
    with contextlib.suppress(OSError, ValueError, AttributeError):
        sys.stderr.write(message + "\n")
        sys.stderr.flush()


class EventLog:
    def __init__(self, path: Path, start: float, warn: Callable[[str], None] = _to_stderr) -> None:
        self.path = path
        self._start = start
        self._warn = warn
        #: Writes that failed (only the first is reported).
        self.failures = 0
        # O_NONBLOCK: a FIFO with no reader fails at once instead of hanging the start, and
        # a reader that stops reading makes a write fail (reported) instead of the session
        # stopping. It changes nothing for regular files.
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NONBLOCK | os.O_CLOEXEC
        try:
            self._fd = os.open(path, flags, 0o600)
        except OSError as exc:
            why = "a pipe with no reader" if exc.errno == errno.ENXIO else exc.strerror
            raise OSError(f"cannot open log file {path}: {why}") from None
        mode = os.fstat(self._fd).st_mode
        self._regular = stat.S_ISREG(mode)
        # An existing file keeps its mode on open; a session log is private either way.
        # Only a regular file: a device node such as /dev/null belongs to the system.
        if self._regular and stat.S_IMODE(mode) != 0o600:
            os.fchmod(self._fd, 0o600)

    def write(self, type_: str, t: float, **data: Any) -> bool:
        """Append one record; False if it could not be written (reported once)."""
        try:
            record = {
                "type": type_,
                "t": _plain(round(t - self._start, 4)),
                "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                **{k: _plain(v) for k, v in data.items()},
            }
            line = json.dumps(record, ensure_ascii=False, allow_nan=False, default=str)
            line = line.translate(_LINE_BREAKS)
            payload = (line + "\n").encode("utf-8", "replace")
        except (ValueError, TypeError) as exc:
            self._failed(f"a {type_!r} record could not be encoded ({exc})")
            return False
        return self._append(payload)

    def _append(self, payload: bytes) -> bool:
        if self._fd < 0:
            return False
        before: int | None = None
        try:
            if self._regular:
                before = os.fstat(self._fd).st_size
            written = os.write(self._fd, payload)
            if written != len(payload):
                raise OSError(errno.ENOSPC, "the record was cut short (is the disk full?)")
        except OSError as exc:
            if before is not None:
                self._take_back(before)
            self._failed(exc.strerror or str(exc))
            return False
        return True

    def _take_back(self, size: int) -> None:
        # A torn last line would make the whole file unreadable as JSON Lines.
        with contextlib.suppress(OSError):
            if os.fstat(self._fd).st_size > size:
                os.ftruncate(self._fd, size)

    def _failed(self, why: str) -> None:
        self.failures += 1
        if self.failures == 1:
            self._warn(
                f"voiceguide: cannot write the session log {self.path}: {why}; "
                "the session goes on, and later records may be missing"
            )

    def event(self, event: object, t: float, **extra: Any) -> bool:
        """Log a dialogue event dataclass under its ``type``."""
        if not is_dataclass(event):
            raise TypeError(f"not an event: {event!r}")
        data = {f.name: getattr(event, f.name) for f in fields(event)}
        return self.write(str(getattr(event, "type")), t, **data, **extra)  # noqa: B009

    def rel(self, t: float) -> float:
        return round(t - self._start, 4)

    def close(self) -> None:
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = -1


def _plain(value: Any) -> Any:
    """A JSON-safe value: no NaN or infinity, no lone surrogates, no endless text."""
    if isinstance(value, Enum):
        return _plain(value.value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str):
        return clean_text(value)
    return value


def clean_text(text: str, limit: int = MAX_TEXT) -> str:
    """``text`` cut to ``limit`` characters, with any undecodable bytes as U+FFFD."""
    if len(text) > limit:
        text = f"{text[:limit]}… [{len(text) - limit} more characters not logged]"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)
    return text
