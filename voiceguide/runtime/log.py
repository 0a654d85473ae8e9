"""The session log: JSON Lines, one event per line, private to the user (mode 0600).

Each line is written with a single ``os.write`` on an ``O_APPEND`` descriptor, so lines
from one session never interleave or tear, even if two writers share a file.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import fields, is_dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any


class EventLog:
    def __init__(self, path: Path, start: float) -> None:
        self.path = path
        self._start = start
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as exc:
            raise OSError(f"cannot open log file {path}: {exc.strerror}") from None
        # An existing file keeps its mode on open; a session log is private either way.
        if stat.S_IMODE(os.fstat(self._fd).st_mode) != 0o600:
            os.fchmod(self._fd, 0o600)

    def write(self, type_: str, t: float, **data: Any) -> None:
        record = {
            "type": type_,
            "t": round(t - self._start, 4),
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            **{k: _plain(v) for k, v in data.items()},
        }
        line = json.dumps(record, ensure_ascii=False) + "\n"
        os.write(self._fd, line.encode("utf-8"))

    def event(self, event: object, t: float, **extra: Any) -> None:
        """Log a dialogue event dataclass under its ``type``."""
        if not is_dataclass(event):
            raise TypeError(f"not an event: {event!r}")
        data = {f.name: getattr(event, f.name) for f in fields(event)}
        self.write(str(getattr(event, "type")), t, **data, **extra)  # noqa: B009

    def rel(self, t: float) -> float:
        return round(t - self._start, 4)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value
