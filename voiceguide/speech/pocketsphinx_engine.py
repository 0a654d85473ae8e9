"""PocketSphinx: the zero-download English recognizer (its wheel ships the model).

The one adapter over ``pocketsphinx``. Each grammar of ``grammars/<lang>/`` becomes a
JSGF search with a garbage branch of everyday words: a decode that lands on a garbage
word is rejected, not forced onto an answer. A "no" is accepted only when the n-best
list agrees on it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pocketsphinx

from voiceguide.content.models import GrammarBook
from voiceguide.dialogue.intents import Intent
from voiceguide.speech.jsgf import build_jsgf
from voiceguide.speech.recognizer import Decoding, Recognition, Samples
from voiceguide.speech.rejection import RejectionSettings


class PocketSphinxError(RuntimeError):
    """The engine or its model cannot be used; the message says why."""


def model_dir() -> Path:
    return Path(pocketsphinx.get_model_path()) / "en-us"


class PocketSphinxRecognizer:
    def __init__(
        self,
        grammars: GrammarBook,
        settings: RejectionSettings | None = None,
        model: Path | None = None,
        echo_words: set[str] | frozenset[str] = frozenset(),
        count_words: set[str] | frozenset[str] = frozenset(),
    ) -> None:
        if grammars.language != "en":
            raise PocketSphinxError(
                f"PocketSphinx ships only an English model; no model for {grammars.language!r}"
            )
        folder = model or model_dir()
        hmm, dic = folder / "en-us", folder / "cmudict-en-us.dict"
        if not hmm.is_dir() or not dic.is_file():
            raise PocketSphinxError(f"PocketSphinx model not found in {folder}")
        self.settings = settings or RejectionSettings()
        self._decoder = pocketsphinx.Decoder(
            hmm=str(hmm), dict=str(dic), lm=None, logfn=os.devnull, bestpath=True
        )
        vocabulary = self._vocabulary(dic)
        self.missing_words: dict[str, list[str]] = {}
        self._phrases: dict[str, dict[str, Intent]] = {}
        self._garbage = {w for w in grammars.garbage if w in vocabulary}
        self._garbage_of: dict[str, set[str]] = {}
        self._strict = {n: g.over_speech_only for n, g in grammars.grammars.items()}
        self._around_of: dict[str, set[str]] = {}
        for name in grammars.grammars:
            usable: dict[str, Intent] = {}
            for phrase, intent in grammars.acoustic_phrase_map(name).items():
                missing = [w for w in phrase.split() if w not in vocabulary]
                if missing:
                    self.missing_words.setdefault(name, []).append(phrase)
                    continue
                usable[phrase] = intent
            self._phrases[name] = usable
            garbage = self._garbage if grammars.grammars[name].use_garbage else set()
            if grammars.grammars[name].over_speech_only:
                # The guide's own words are the likeliest thing heard over its speech: let
                # them win as garbage, but never the words of a barge-in phrase itself.
                own = {w for p in usable for w in p.split()}
                echo = {w for w in echo_words if w in vocabulary and w not in own}
                garbage = garbage | echo
            self._garbage_of[name] = set(garbage)
            around = count_words & vocabulary if grammars.grammars[name].around_counts else set()
            self._around_of[name] = set(around)
            jsgf = build_jsgf(name, usable, garbage, around)
            self._decoder.add_jsgf_string(name, jsgf)
        self._active = ""
        # Live CMN carries over between utterances, which made a decode depend on what was
        # heard before; start every utterance from the model's own initial means instead.
        self._cmn0 = self._decoder.get_cmn(False)

    @staticmethod
    def _vocabulary(dic: Path) -> set[str]:
        words = set()
        with dic.open(encoding="utf-8", errors="replace") as fh:
            for line in fh:
                word = line.split(" ", 1)[0]
                words.add(word.split("(", 1)[0])
        return words

    @property
    def name(self) -> str:
        return "pocketsphinx"

    @property
    def language(self) -> str:
        return "en"

    def _decode(self, samples: Samples, grammar: str) -> tuple[str, float, list[str]]:
        if grammar != self._active:
            self._decoder.activate_search(grammar)
            self._active = grammar
        d = self._decoder
        d.set_cmn(self._cmn0)
        d.start_utt()
        d.process_raw(np.ascontiguousarray(samples, dtype=np.int16).tobytes(), full_utt=True)
        d.end_utt()
        hyp = d.hyp()
        if hyp is None or not hyp.hypstr:
            return "", 0.0, []
        nbest: list[str] = []
        for i, alt in enumerate(d.nbest()):
            if i >= self.settings.no_nbest:
                break
            hyp_alt = getattr(alt, "hypstr", None)
            if hyp_alt is None:  # pocketsphinx yields None entries on thin lattices
                continue
            text = " ".join(w for w in hyp_alt.split() if not w.startswith("<"))
            if text and text not in nbest:
                nbest.append(text)
        return hyp.hypstr, float(hyp.prob), nbest

    def recognize(self, samples: Samples, grammar: str) -> Recognition:
        if grammar not in self._phrases:
            raise KeyError(f"no grammar named {grammar!r}")
        done = Decoding(self.name, len(samples)).result
        if self.settings.is_silence(samples):
            return done("", None, 0.0, "silence")
        text, _prob, nbest = self._decode(samples, grammar)
        garbage = self._garbage_of[grammar]
        if self._around_of[grammar]:  # the answer may come among count words: drop those
            text = _strip(text, self._around_of[grammar])
            nbest = [_strip(a, self._around_of[grammar]) for a in nbest]
        alts = tuple(nbest)
        if not text:
            reason = "out_of_grammar" if self._around_of[grammar] else "no_hypothesis"
            return done("", None, 0.0, reason, alts)
        if text in garbage:
            return done(text, None, 0.0, "out_of_grammar", alts)
        intent = self._phrases[grammar].get(text)
        if intent is None:
            return done(text, None, 0.0, "not_a_whole_phrase", alts)
        # Agreement among the top decodes stands in for a score: the share that agree.
        agree = sum(1 for a in nbest if self._phrases[grammar].get(a) is intent)
        score = agree / max(1, len(nbest))
        if intent is Intent.NO and score < 1.0:
            return done(text, None, score, "ambiguous_no", alts)
        if self._strict[grammar] and score < 1.0:
            return done(text, None, score, "weak_barge_in", alts)
        return done(text, intent, score, "", alts)


def _strip(text: str, words: set[str]) -> str:
    return " ".join(w for w in text.split() if w not in words)
