"""Keyboard/pipe input and plain-text output for ``voiceguide run --text``.

Output is one plain line per spoken sentence or count: no colour, no cursor tricks,
so screen readers and pipes get exactly what a listener would hear.
"""

from __future__ import annotations

import queue
import threading
from typing import TextIO

from voiceguide.dialogue.events import (
    Count,
    Heard,
    InputEnded,
    InputEvent,
    Silence,
    Speak,
    VoiceChange,
)


class LineInput:
    """Reads lines on a thread so the session can keep counting while it waits.

    An empty line is silence; end of input ends the session cleanly.
    """

    def __init__(self, stream: TextIO) -> None:
        self._queue: queue.Queue[InputEvent] = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: TextIO) -> None:
        try:
            for line in stream:
                text = line.strip()
                self._queue.put(Heard(text, source="text") if text else Silence())
        except (OSError, ValueError, UnicodeDecodeError):
            pass  # A broken input is an ended input.
        self._queue.put(InputEnded())

    def get(self, timeout: float | None) -> InputEvent | None:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None


class TextOutput:
    def __init__(self, stream: TextIO) -> None:
        self._out = stream

    def _line(self, text: str) -> None:
        try:
            self._out.write(text + "\n")
            self._out.flush()
        except BrokenPipeError:
            pass  # The reader went away; the session still ends normally.

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
