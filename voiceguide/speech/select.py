"""Which recognizer to use: ``auto`` picks Vosk when a Vosk model for the language is
installed, otherwise PocketSphinx for English (its model ships in the wheel)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from voiceguide.content.models import GrammarBook
from voiceguide.speech.recognizer import Recognizer

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
