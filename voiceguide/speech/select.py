"""Which recognizer to use: ``auto`` picks Vosk when a Vosk model for the language is
installed, otherwise PocketSphinx for English (its model ships in the wheel)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from voiceguide.content.models import GrammarBook
from voiceguide.speech.recognizer import Recognition, Recognizer, Samples

EngineName = Literal["auto", "vosk", "pocketsphinx"]
ENGINES: tuple[str, ...] = ("auto", "vosk", "pocketsphinx")


class NoRecognizer(RuntimeError):
    """No engine can serve this language; the message says how to get one."""


@dataclass(frozen=True)
class Choice:
    engine: str
    why: str


def choose(engine: str, lang: str) -> Choice:
    from voiceguide.speech.model_store import find_installed_model

    if engine == "vosk":
        return Choice("vosk", "asked for Vosk")
    if engine == "pocketsphinx":
        return Choice("pocketsphinx", "asked for PocketSphinx")
    model = find_installed_model(lang)
    if model is not None:
        return Choice("vosk", f"a Vosk model for {lang!r} is installed at {model}")
    if lang == "en":
        return Choice(
            "pocketsphinx",
            "no Vosk model for 'en' is installed, so the English model that ships with "
            "PocketSphinx is used (a vosk-model-small-en-* folder in ~/.cache/vosk adds Vosk)",
        )
    raise NoRecognizer(
        f"no recognizer for {lang!r}: unpack a vosk-model-small-{lang}-* model into "
        "~/.cache/vosk (or set VOICEGUIDE_MODEL_DIR)"
    )


def make_recognizer(
    engine: str,
    grammars: GrammarBook,
    echo_words: frozenset[str] = frozenset(),
    count_words: frozenset[str] = frozenset(),
) -> Recognizer:
    """``echo_words``: what the guide says, so its own voice is not taken for a barge-in;
    ``count_words``: may surround a barge-in spoken over the counting."""
    choice = choose(engine, grammars.language)
    if choice.engine == "vosk":
        from voiceguide.speech.vosk_engine import VoskRecognizer

        return VoskRecognizer(grammars)
    from voiceguide.speech.pocketsphinx_engine import PocketSphinxRecognizer

    return PocketSphinxRecognizer(grammars, echo_words=echo_words, count_words=count_words)


class BackgroundRecognizer:
    """A recognizer that loads on a thread, so the welcome plays while the model loads.

    The first ``recognize`` waits for the load; a failed load raises there, as ``NoRecognizer``.
    """

    def __init__(self, engine: str, load: Callable[[], Recognizer], language: str) -> None:
        self._engine = engine
        self._language = language
        self._loaded: Recognizer | None = None
        self._error: Exception | None = None
        self._done = threading.Event()

        def run() -> None:
            try:
                self._loaded = load()
            except Exception as exc:  # reported to the first caller, with the cause
                self._error = exc
            self._done.set()

        threading.Thread(target=run, name="recognizer-load", daemon=True).start()

    @property
    def name(self) -> str:
        return self._engine

    @property
    def language(self) -> str:
        return self._language

    def ready(self, timeout: float | None = None) -> Recognizer:
        if not self._done.wait(timeout):
            raise NoRecognizer(f"the {self._engine} model is still loading")
        if self._loaded is None:
            raise NoRecognizer(f"the {self._engine} recognizer did not load: {self._error}")
        return self._loaded

    def recognize(
        self, samples: Samples, grammar: str, speaking: frozenset[str] = frozenset()
    ) -> Recognition:
        return self.ready().recognize(samples, grammar, speaking)


def load_in_background(
    engine: str,
    grammars: GrammarBook,
    echo_words: frozenset[str] = frozenset(),
    count_words: frozenset[str] = frozenset(),
) -> BackgroundRecognizer:
    """Decide the engine now (a missing or broken model is reported at once), load later."""
    choice = choose(engine, grammars.language)
    if choice.engine == "vosk":
        from voiceguide.speech.model_store import find_installed_model, validate_model_dir

        path = find_installed_model(grammars.language)
        if path is None:
            raise NoRecognizer(f"no Vosk model for {grammars.language!r} is installed")
        validate_model_dir(path)
    return BackgroundRecognizer(
        choice.engine,
        lambda: make_recognizer(choice.engine, grammars, echo_words, count_words),
        grammars.language,
    )
