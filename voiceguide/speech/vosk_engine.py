"""Vosk: the primary engine when a model for the language is installed.

The one adapter over ``vosk``. Each utterance is decoded with the grammar of its question
(phrases plus the model's unknown token as a garbage branch), word confidences on. Vosk
grammars are not strict (it builds a bigram model from the phrases), so a result counts
only when it is one whole phrase of the grammar with every word confident enough.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import vosk

from voiceguide.content.models import GrammarBook
from voiceguide.dialogue.intents import Intent
from voiceguide.speech.model_store import ModelError, find_installed_model, validate_model_dir
from voiceguide.speech.recognizer import SAMPLE_RATE, Recognition, Samples
from voiceguide.speech.rejection import RejectionSettings

UNKNOWN_TOKENS = ("[unk]", "<UNK>", "<unk>")


class VoskRecognizer:
    def __init__(
        self,
        grammars: GrammarBook,
        model_path: Path | None = None,
        settings: RejectionSettings | None = None,
    ) -> None:
        path = model_path or find_installed_model(grammars.language)
        if path is None:
            raise ModelError(
                f"no Vosk model for {grammars.language!r} is installed; "
                f"unpack vosk-model-small-{grammars.language}-* into ~/.cache/vosk"
            )
        validate_model_dir(path)
        vosk.SetLogLevel(-1)
        try:
            self._model = vosk.Model(str(path))
        except Exception as exc:
            raise ModelError(f"Vosk could not load the model at {path}: {exc}") from None
        self.model_path = path
        self.settings = settings or RejectionSettings()
        self._lang = grammars.language
        unk = [t for t in UNKNOWN_TOKENS if self._model.vosk_model_find_word(t) >= 0]
        self.unknown_token = unk[0] if unk else None
        self.missing_words: dict[str, list[str]] = {}
        self._phrases: dict[str, dict[str, Intent]] = {}
        self._strict = {n: g.over_speech_only for n, g in grammars.grammars.items()}
        for name in grammars.grammars:
            usable: dict[str, Intent] = {}
            for phrase, intent in grammars.acoustic_phrase_map(name).items():
                missing = [w for w in phrase.split() if self._model.vosk_model_find_word(w) < 0]
                if missing:
                    self.missing_words.setdefault(name, []).append(phrase)
                else:
                    usable[phrase] = intent
            self._phrases[name] = usable

    @property
    def name(self) -> str:
        return "vosk"

    @property
    def language(self) -> str:
        return self._lang

    def _recognizer(self, grammar: str) -> Any:
        phrases = sorted(self._phrases[grammar])
        if self.unknown_token:
            phrases.append(self.unknown_token)
        rec = vosk.KaldiRecognizer(
            self._model, SAMPLE_RATE, json.dumps(phrases, ensure_ascii=False)
        )
        rec.SetWords(True)
        rec.SetMaxAlternatives(0)
        if hasattr(rec, "SetEndpointerDelays"):
            rec.SetEndpointerDelays(0.3, 0.3, 8.0)  # answers are short; don't wait long
        return rec

    def recognize(
        self, samples: Samples, grammar: str, speaking: frozenset[str] = frozenset()
    ) -> Recognition:
        # ``speaking`` is not used: the echo rule of the runtime still applies to results.
        decoding, silent = self.settings.begin(self.name, samples, grammar, self._phrases)
        if silent is not None:
            return silent
        done = decoding.result
        rec = self._recognizer(grammar)
        rec.AcceptWaveform(np.ascontiguousarray(samples, dtype=np.int16).tobytes())
        result = json.loads(rec.FinalResult())
        words = result.get("result", [])
        text = " ".join(w["word"] for w in words) or result.get("text", "")
        if not text:
            return done("", None, 0.0, "no_hypothesis")
        if self.unknown_token and self.unknown_token in text.split():
            return done(text, None, 0.0, "out_of_grammar")
        intent = self._phrases[grammar].get(text)
        if intent is None:
            return done(text, None, 0.0, "not_a_whole_phrase")
        score = min((float(w.get("conf", 0.0)) for w in words), default=0.0)
        if score < self.settings.word_conf_needed(intent, self._strict[grammar]):
            return done(text, None, score, "low_score")
        return done(text, intent, score)


def probe_main(argv: list[str]) -> None:
    """Child-process entry of ``model_store.probe_model``: load the model at ``argv[0]`` and
    print, as JSON, which of the words ``argv[1:]`` its vocabulary lacks. Kaldi may abort
    the process on a corrupt model, which is why this runs in a child."""
    import sys

    vosk.SetLogLevel(-1)
    try:
        model = vosk.Model(argv[0])
    except Exception as exc:
        print(f"vosk: {exc}", file=sys.stderr)
        sys.exit(3)
    missing = [w for w in argv[1:] if model.vosk_model_find_word(w) < 0]
    print(json.dumps({"missing": missing}))
