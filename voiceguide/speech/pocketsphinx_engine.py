"""PocketSphinx: the zero-download English recognizer (its wheel ships the model).

The one adapter over ``pocketsphinx``. Each grammar of ``grammars/<lang>/`` becomes a
JSGF search with a garbage branch of everyday words: a decode that lands on a garbage
word is rejected, not forced onto an answer. A "no" is accepted only when the n-best
list agrees on it.
"""

from __future__ import annotations

import os
import tempfile
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pocketsphinx

from voiceguide.content.models import GrammarBook
from voiceguide.dialogue.intents import Intent
from voiceguide.speech.jsgf import build_jsgf
from voiceguide.speech.recognizer import Recognition, Samples
from voiceguide.speech.rejection import RejectionSettings

#: Searches kept for "what the guide is saying now" (one per prompt; least used dropped).
#: Few on purpose: each costs about 10 MB (64 of them grew a hands-free run by some
#: 100 MB in minutes, issue 8), and building one again takes only about 15 ms.
MAX_CONTEXT_SEARCHES = 2
#: PocketSphinx frames are 10 ms.
FRAME_SAMPLES = 160
#: Audio kept either side of a located answer, for the strict second decode.
SPAN_PAD = 3200


class _Lexicon:
    """The pronunciations this recognizer uses, taken from the full dictionary as needed.

    Why not load the full dictionary: its 135,000 words cost each decoder about 25 MB,
    and this recognizer has two (issue 8, item 12); the grammars, the garbage words and
    what the guide says need a few hundred. A word first met later (the guide says
    something new) is looked up then, in about 40 ms, and added to every decoder.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines: dict[str, list[str]] = {}
        self.absent: set[str] = set()
        self._lock = threading.Lock()

    def find(self, words: set[str] | frozenset[str]) -> dict[str, list[str]]:
        """The dictionary lines of those ``words`` not met before (word and alternates)."""
        with self._lock:
            wanted = {w for w in words if w not in self.lines and w not in self.absent}
            if not wanted:
                return {}
            found: dict[str, list[str]] = {}
            with self.path.open(encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    entry = line.split(" ", 1)[0]
                    word = entry.split("(", 1)[0]
                    if word in wanted and " " in line.strip():
                        found.setdefault(word, []).append(line.strip())
            self.lines.update(found)
            self.absent |= wanted - found.keys()
            return found

    def __contains__(self, word: object) -> bool:
        return word in self.lines

    def decoder(self, hmm: Path, bestpath: bool) -> pocketsphinx.Decoder:
        """A decoder that knows exactly the words found so far."""
        with tempfile.TemporaryDirectory(prefix="voiceguide-dict-") as folder:
            dic = Path(folder) / "words.dict"
            dic.write_text("\n".join(x for lines in self.lines.values() for x in lines) + "\n")
            return pocketsphinx.Decoder(
                hmm=str(hmm), dict=str(dic), lm=None, logfn=os.devnull, bestpath=bestpath
            )


def _add_words(decoder: pocketsphinx.Decoder, found: Mapping[str, list[str]]) -> None:
    for lines in found.values():
        for line in lines:
            entry, phones = line.split(" ", 1)
            decoder.add_word(entry, phones.strip(), True)


class _Searches:
    """JSGF searches made on the fly, one per thing the guide says; least used dropped."""

    def __init__(
        self,
        decoder: Callable[[], pocketsphinx.Decoder],
        prefix: str,
        active: Callable[[], str],
        activate: Callable[[str], None],
    ) -> None:
        self._decoder = decoder
        self._prefix = prefix
        # The decoder's active search, as its owner tracks it: pocketsphinx's own
        # current_search() dereferences NULL (and kills the process) on a decoder that
        # has never had a search activated, e.g. a session that so far heard only itself.
        self._active = active
        self._activate = activate
        self._names: OrderedDict[tuple[str, frozenset[str]], str] = OrderedDict()
        self._made = 0

    def ensure(self, key: tuple[str, frozenset[str]], jsgf: Callable[[str], str]) -> str:
        name = self._names.get(key)
        if name is None:
            self._made += 1
            name = f"{self._prefix}_{self._made}"
            self._decoder().add_jsgf_string(name, jsgf(name))
            self._names[key] = name
            if len(self._names) > MAX_CONTEXT_SEARCHES:
                _, old = self._names.popitem(last=False)
                if self._active() == old:  # never remove the active one
                    self._activate(name)
                self._decoder().remove_search(old)
        self._names.move_to_end(key)
        return name


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
        self._lexicon = _Lexicon(dic)
        wanted = set(grammars.garbage) | set(echo_words) | set(count_words)
        for name in grammars.grammars:
            wanted |= {w for phrase in grammars.acoustic_phrase_map(name) for w in phrase.split()}
        self._lexicon.find(wanted)
        vocabulary = self._lexicon
        self._decoder = self._lexicon.decoder(hmm, bestpath=True)
        self.missing_words: dict[str, list[str]] = {}
        self._phrases: dict[str, dict[str, Intent]] = {}
        self._garbage = {w for w in grammars.garbage if w in vocabulary}
        self._garbage_of: dict[str, set[str]] = {}
        self._strict = {n: g.over_speech_only for n, g in grammars.grammars.items()}
        self._around_of: dict[str, set[str]] = {}
        self._use_garbage = {n: g.use_garbage for n, g in grammars.grammars.items()}
        self._finder_searches = _Searches(
            self._finder_decoder, "finding", lambda: self._finder_active, self._activate_finding
        )
        self._verify_searches = _Searches(
            lambda: self._decoder, "judging", lambda: self._active, self._activate
        )
        self._finder: pocketsphinx.Decoder | None = None
        self._finder_active = ""
        self._hmm = hmm
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
            counts = grammars.grammars[name].around_counts
            around = {w for w in count_words if w in vocabulary} if counts else set()
            self._around_of[name] = set(around)
            jsgf = build_jsgf(name, usable, garbage, around)
            self._decoder.add_jsgf_string(name, jsgf)
        self._active = ""
        self._cmn0 = self._decoder.get_cmn(False)

    @property
    def name(self) -> str:
        return "pocketsphinx"

    @property
    def language(self) -> str:
        return "en"

    def _over_speech(
        self, samples: Samples, grammar: str, speaking: frozenset[str]
    ) -> tuple[Samples, str, set[str], set[str]] | None:
        """Over the guide's voice: the stretch where something other than its own words
        was said, the search to judge it with, that search's garbage and the words that may
        surround its answer (None: only the guide's own words, its echo).

        First pass: the words the guide is saying may come before and after an answer, so
        its echo is decoded as those words instead of being squeezed onto one answer
        phrase, and an answer said into the middle of it is found. Second pass: that
        stretch alone, against the answers (the words being said now may still surround
        them), with the everyday garbage and the words being said now as garbage (not
        every word the guide ever says: "it hurts" lost to the count word "thirty" while
        the guide was saying something else entirely). The guide's words include answer
        words ("now", "stop"): left out, its "now" was heard as "ouch".
        """
        self._learn(speaking)
        words = {w for w in speaking if w in self._lexicon}
        words |= self._around_of[grammar]
        if not words:
            return samples, grammar, self._garbage_of[grammar], self._around_of[grammar]
        key = (grammar, frozenset(words))
        phrases = self._phrases[grammar]
        finder = self._finder_decoder()
        finding = self._finder_searches.ensure(
            key, lambda name: build_jsgf(name, phrases, (), words)
        )
        self._activate_finding(finding)
        _fresh_utterance(finder, self._cmn0)
        finder.start_utt()
        finder.process_raw(np.ascontiguousarray(samples, dtype=np.int16).tobytes(), full_utt=True)
        finder.end_utt()
        found = finder.hyp() is not None
        other = [
            seg
            for seg in (finder.seg() if found else ())
            if seg.start_frame >= 0
            and not seg.word.startswith(("<", "(", "["))
            and seg.word.split("(", 1)[0] not in words
        ]
        _release_utterance(finder)
        garbage = (self._garbage if self._use_garbage[grammar] else set()) | words
        judging = self._verify_searches.ensure(
            key, lambda name: build_jsgf(name, phrases, garbage, words)
        )
        if not found:  # no path through the search: let the second pass judge
            return samples, judging, garbage, words
        if not other:
            return None
        lo = max(0, other[0].start_frame * FRAME_SAMPLES - SPAN_PAD)
        hi = min(len(samples), (other[-1].end_frame + 1) * FRAME_SAMPLES + SPAN_PAD)
        return samples[lo:hi], judging, garbage, words

    def _finder_decoder(self) -> pocketsphinx.Decoder:
        # A second decoder without the lattice pass: over long stretches of the guide's
        # speech, building the lattice took 5 s per utterance, the search itself 0.2 s.
        if self._finder is None:
            self._finder = self._lexicon.decoder(self._hmm, bestpath=False)
        return self._finder

    def _learn(self, words: frozenset[str]) -> None:
        """Words the guide says that were not foreseen: into both decoders' dictionaries."""
        found = self._lexicon.find(words)
        if found:
            _add_words(self._decoder, found)
            if self._finder is not None:
                _add_words(self._finder, found)

    def _activate(self, search: str) -> None:
        if search != self._active:
            self._decoder.activate_search(search)
            self._active = search

    def _activate_finding(self, search: str) -> None:
        if search != self._finder_active:
            self._finder_decoder().activate_search(search)
            self._finder_active = search

    def _decode(self, samples: Samples, search: str) -> tuple[str, float, list[str]]:
        self._activate(search)
        d = self._decoder
        _fresh_utterance(d, self._cmn0)
        d.start_utt()
        d.process_raw(np.ascontiguousarray(samples, dtype=np.int16).tobytes(), full_utt=True)
        d.end_utt()
        try:
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
        finally:
            _release_utterance(d)  # the results are copied out: nothing refers to the lattice

    def recognize(
        self, samples: Samples, grammar: str, speaking: frozenset[str] = frozenset()
    ) -> Recognition:
        decoding, silent = self.settings.begin(self.name, samples, grammar, self._phrases)
        if silent is not None:
            return silent
        done = decoding.result
        search = grammar
        garbage = self._garbage_of[grammar]
        around = self._around_of[grammar]
        if speaking and self._strict[grammar]:
            located = self._over_speech(samples, grammar, speaking)
            if located is None:
                return done("", None, 0.0, "out_of_grammar")
            samples, search, garbage, around = located
        text, _prob, nbest = self._decode(samples, search)
        if around:  # the answer may come among count words or the guide's: drop those
            phrases = self._phrases[grammar]
            text = _answer_among(text, phrases, around)
            nbest = [_answer_among(a, phrases, around) for a in nbest]
        alts = tuple(nbest)
        if not text:
            reason = "out_of_grammar" if around else "no_hypothesis"
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


def _fresh_utterance(decoder: pocketsphinx.Decoder, cmn0: str) -> None:
    """Make the next decode depend on its own audio only, never on what came before.

    The model's front end removes noise (``-remove_noise yes`` in its feat.params) with a
    running estimate of the noise spectrum that ``start_utt`` does not reset: a real "no"
    was heard as "though" after a "house" (tests/test_history.py; 13 of 102 results
    changed with the clip order). ``start_stream`` resets it. CMN is ``batch`` (computed
    per utterance) in this model; the means are reset too, for models with live CMN.
    """
    with warnings.catch_warnings():  # "deprecated and unnecessary": it is necessary
        warnings.simplefilter("ignore", DeprecationWarning)
        decoder.start_stream()
    decoder.set_cmn(cmn0)


def _release_utterance(decoder: pocketsphinx.Decoder) -> None:
    """Hand back what the decoder holds of the utterance just read (its results are
    copied out by now).

    A search keeps its last utterance's word history and lattice until its next
    utterance begins, and each search keeps its own: 12 s of the guide's voice left
    about 60 MB per pass (finder and judge) held for good, and a hands-free run sat
    near 255 MB. An empty utterance frees them, in about 0.3 ms; the next decode starts
    afresh anyway (``_fresh_utterance``).
    """
    decoder.start_utt()
    decoder.end_utt()


def _answer_among(text: str, phrases: Mapping[str, Intent], around: set[str]) -> str:
    """The longest answer phrase in ``text`` with only ``around`` words beside it; else
    ``text`` without the ``around`` words ("" when nothing else was said)."""
    words = text.split()
    best = ""
    for i in range(len(words)):
        for j in range(len(words), i, -1):
            candidate = " ".join(words[i:j])
            beside = words[:i] + words[j:]
            if j - i > len(best.split()) and candidate in phrases and set(beside) <= around:
                best = candidate
    return best or " ".join(w for w in words if w not in around)
