"""Which recognizer to use.

``auto`` picks a grammar engine (Vosk when a Vosk model for the language is installed,
otherwise PocketSphinx for English, whose model ships in the wheel); ``fused`` (and
``auto``, while ``AUTO_FUSES`` is on) verifies it with the answer model for English. If
the answer model cannot be loaded, the grammar engine runs alone with its own
rejection: never anything that accepts more. ``answer-model`` is the model alone (for
benchmarks).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from voiceguide.content.models import GrammarBook
from voiceguide.speech.recognizer import Recognition, Recognizer, Samples

EngineName = Literal["auto", "vosk", "pocketsphinx", "answer-model", "fused"]
ENGINES: tuple[str, ...] = ("auto", "vosk", "pocketsphinx", "answer-model", "fused")
#: Whether ``auto`` verifies the grammar engine with the answer model (English). On real
#: voices it is far better and safer than PocketSphinx alone (BENCHMARKS.md, "Answer
#: model": healthy users through the screening, unsafe "no"s). It hears espeak-ng's
#: synthetic "no" much less often than real ones, which is why the device tests that need
#: a synthetic "no" to get through name ``--engine pocketsphinx``.
AUTO_FUSES = True
#: Languages the answer model was trained for.
ANSWER_MODEL_LANGUAGES = frozenset({"en"})


class NoRecognizer(RuntimeError):
    """No engine can serve this language; the message says how to get one."""


@dataclass(frozen=True)
class Choice:
    engine: str
    why: str


def choose(engine: str, lang: str) -> Choice:
    """The grammar engine to use (``vosk`` or ``pocketsphinx``), or ``answer-model``."""
    from voiceguide.speech.model_store import find_installed_model

    if engine == "vosk":
        return Choice("vosk", "asked for Vosk")
    if engine == "pocketsphinx":
        return Choice("pocketsphinx", "asked for PocketSphinx")
    if engine == "answer-model":
        if lang not in ANSWER_MODEL_LANGUAGES:
            raise NoRecognizer(f"the answer model knows only English, not {lang!r}")
        return Choice("answer-model", "asked for the answer model alone")
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


def answer_model_status(lang: str) -> tuple[bool, str]:
    """Whether the answer model loads for ``lang``, and what was found (for ``check``)."""
    from voiceguide.speech.answer_model import AnswerModel, AnswerModelUnavailable

    if lang not in ANSWER_MODEL_LANGUAGES:
        return False, f"no answer model for {lang!r} (English only)"
    try:
        model = AnswerModel()
    except AnswerModelUnavailable as exc:
        return False, str(exc)
    own = " with the head's own upper layers in effect" if model.head.top else ""
    return (
        True,
        f"speech embedding (openwakeword 0.5.1's ONNX files){own} and the trained head load",
    )


def fuses(engine: str, language: str) -> bool:
    """Whether ``engine`` means the grammar engine verified by the answer model."""
    wanted = engine == "fused" or (engine == "auto" and AUTO_FUSES)
    return wanted and language in ANSWER_MODEL_LANGUAGES


def make_recognizer(
    engine: str,
    grammars: GrammarBook,
    echo_words: frozenset[str] = frozenset(),
    count_words: frozenset[str] = frozenset(),
    base_engine: str | None = None,
) -> Recognizer:
    """``echo_words``: what the guide says, so its own voice is not taken for a barge-in;
    ``count_words``: may surround a barge-in spoken over the counting; ``base_engine``:
    the grammar engine to use whatever ``engine`` would choose (a fallback)."""
    from voiceguide.speech.answer_model import AnswerModel, AnswerModelUnavailable

    choice = choose(engine, grammars.language)
    if choice.engine == "answer-model":
        from voiceguide.speech.fused import AnswerModelRecognizer

        try:
            return AnswerModelRecognizer(AnswerModel(), grammars)
        except AnswerModelUnavailable as exc:
            raise NoRecognizer(f"the answer model cannot be used: {exc}") from None
    base = _grammar_engine(base_engine or choice.engine, grammars, echo_words, count_words)
    if not fuses(engine, grammars.language):
        return base
    try:
        model = AnswerModel()
    except AnswerModelUnavailable as exc:
        # Today's rejection of the grammar engine alone: safe, only less accepting.
        logging.getLogger(__name__).warning(
            "the answer model cannot be used (%s); %s decides alone", exc, base.name
        )
        return base
    from voiceguide.speech.fused import FusedRecognizer

    return FusedRecognizer(base, model, grammars)


def _grammar_engine(
    engine: str, grammars: GrammarBook, echo_words: frozenset[str], count_words: frozenset[str]
) -> Recognizer:
    if engine == "vosk":
        from voiceguide.speech.vosk_engine import VoskRecognizer

        return VoskRecognizer(grammars)
    from voiceguide.speech.pocketsphinx_engine import PocketSphinxRecognizer

    return PocketSphinxRecognizer(grammars, echo_words=echo_words, count_words=count_words)


def other_engine(engine: str) -> str:
    """The other grammar engine (``engine`` may be a fused name, "vosk + answer model")."""
    return "pocketsphinx" if engine.split(" ", 1)[0] == "vosk" else "vosk"


def answer_words(grammars: GrammarBook) -> tuple[list[str], list[str]]:
    """The one-word "yes" and "no" answers a speech engine listens for: a model for the
    language must know at least one of each."""
    by_intent: dict[str, list[str]] = {"yes": [], "no": []}
    for phrase, intent in grammars.acoustic_phrase_map("yes_no").items():
        if intent.value in by_intent and " " not in phrase:
            by_intent[intent.value].append(phrase)
    return by_intent["yes"], by_intent["no"]


def checked_vosk_model(grammars: GrammarBook) -> Path:
    """The installed Vosk model for the grammars' language, loaded once in a child process
    and asked for the language's answer words; ``ModelError`` if it fails either test."""
    from voiceguide.speech.model_store import ModelError, find_installed_model, probe_model

    path = find_installed_model(grammars.language)
    if path is None:
        raise ModelError(f"no Vosk model for {grammars.language!r} is installed")
    problems = probe_model(path, *answer_words(grammars))
    if problems:
        raise ModelError("; ".join(problems))
    return path


class BackgroundRecognizer:
    """A recognizer that loads on a thread, so the welcome plays while the model loads.

    If the load fails and a ``fallback`` is given (the other engine), that is loaded
    instead and ``notify`` is told why. The first ``recognize`` waits for the load; a
    failed load raises there, as ``NoRecognizer``.
    """

    def __init__(
        self,
        engine: str,
        load: Callable[[], Recognizer],
        language: str,
        fallback: Callable[[], Recognizer] | None = None,
        notify: Callable[[str], None] | None = None,
    ) -> None:
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
                if fallback is not None:
                    self._fall_back(exc, fallback, notify)
            self._done.set()

        threading.Thread(target=run, name="recognizer-load", daemon=True).start()

    def _fall_back(
        self,
        error: Exception,
        fallback: Callable[[], Recognizer],
        notify: Callable[[str], None] | None,
    ) -> None:
        try:
            self._loaded = fallback()
        except Exception as exc:
            self._error = RuntimeError(f"{error}; the fallback did not load either: {exc}")
            return
        if notify is not None:
            notify(
                f"the {self._engine} recognizer did not load ({error}); "
                f"listening with {self._loaded.name} instead"
            )
        self._engine = self._loaded.name

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
    notify: Callable[[str], None] | None = None,
) -> BackgroundRecognizer:
    """Decide the engine now (a missing model is reported at once), load later.

    A Vosk model is first loaded in a child process and asked for the language's answer
    words (a corrupt model can abort the process that loads it; a model of another
    language can hide under an English name); if it fails, PocketSphinx is used for
    English, and ``notify`` says why.
    """
    choice = choose(engine, grammars.language)
    fallback: Callable[[], Recognizer] | None = None
    if choice.engine == "vosk":
        from voiceguide.speech.model_store import find_installed_model, validate_model_dir

        path = find_installed_model(grammars.language)
        if path is None:
            raise NoRecognizer(f"no Vosk model for {grammars.language!r} is installed")
        if grammars.language == "en":
            fallback = lambda: make_recognizer(  # noqa: E731
                engine, grammars, echo_words, count_words, base_engine="pocketsphinx"
            )
        else:
            validate_model_dir(path)  # with no fallback, a missing part is reported now

    def load() -> Recognizer:
        if choice.engine == "vosk":
            checked_vosk_model(grammars)  # in a child: a corrupt model may abort its loader
        return make_recognizer(engine, grammars, echo_words, count_words)

    # Named as it will be once loaded (FusedRecognizer.name), so `run` says what it uses.
    name = f"{choice.engine} + answer model" if fuses(engine, grammars.language) else choice.engine
    return BackgroundRecognizer(name, load, grammars.language, fallback, notify)
