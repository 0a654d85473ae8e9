"""Keyboard/pipe input and plain-text output for ``voiceguide run --text``.

Output is one plain line per spoken sentence or count: no colour, no cursor tricks,
so screen readers and pipes get exactly what a listener would hear.

Input is read as bytes and decoded here, so no byte sequence can break the session:
invalid UTF-8 becomes U+FFFD (an unclear answer, like any other), an endless line is cut,
and a closed or failing input is an ended input.
"""

from __future__ import annotations

import contextlib
import queue
import sys
import threading
from collections.abc import Iterator
from typing import IO, Any, TextIO

from voiceguide.dialogue.events import (
    Count,
    Heard,
    InputEnded,
    InputEvent,
    Silence,
    Speak,
    VoiceChange,
)

#: Longest typed line kept, in bytes; the rest of a longer line is read and dropped.
MAX_LINE_BYTES = 4096


def _lines(stream: IO[Any]) -> Iterator[str]:
    """Decoded lines of ``stream`` (a text stream with a byte buffer, bytes, or text)."""
    raw = getattr(stream, "buffer", stream)
    while True:
        line = raw.readline(MAX_LINE_BYTES)
        if not line:
            return
        if len(line) == MAX_LINE_BYTES and line[-1:] not in (b"\n", "\n"):
            rest = line
            while rest and rest[-1:] not in (b"\n", "\n"):  # drop the rest of the line
                rest = raw.readline(MAX_LINE_BYTES)
        yield line.decode("utf-8", "replace") if isinstance(line, bytes) else line


class LineInput:
    """Reads lines on a thread so the session can keep counting while it waits.

    An empty line is silence; end of input ends the session cleanly.
    """

    def __init__(self, stream: IO[Any] | None) -> None:
        self._queue: queue.Queue[InputEvent] = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[Any] | None) -> None:
        try:
            if stream is not None:  # None: the program was started with stdin closed
                for line in _lines(stream):
                    text = line.strip()
                    self._queue.put(Heard(text, source="text") if text else Silence())
        except Exception:  # a broken input of any kind is an ended input
            pass
        finally:
            self._queue.put(InputEnded())

    def get(self, timeout: float | None) -> InputEvent | None:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None


class TextOutput:
    """Prints each line; if the output fails (closed, full, gone), prints on ``fallback``
    instead, so the guide's words, and above all its emergency advice, still show."""

    def __init__(self, stream: TextIO | None, fallback: TextIO | None = None) -> None:
        self._out = stream
        self._fallback = fallback if fallback is not None else sys.stderr
        self.failed = stream is None

    def _line(self, text: str) -> None:
        if self._out is not None:
            try:
                self._out.write(text + "\n")
                self._out.flush()
                return
            except (OSError, ValueError) as exc:
                self._out = None
                self.failed = True
                self._to_fallback(f"voiceguide: standard output failed ({exc}); going on here")
        self._to_fallback(text)

    def _to_fallback(self, text: str) -> None:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            self._fallback.write(text + "\n")
            self._fallback.flush()

    def speak(self, event: Speak) -> None:
        self._line(event.text)

    def count(self, event: Count) -> None:
        self._line(event.text)

    def halt(self) -> None:
        pass

    def listen(self, grammar: str) -> None:
        pass

    def voice(self, event: VoiceChange) -> None:
        pass

    def finish(self) -> None:
        pass
