"""Free text -> intent, for typed answers and engines that return unconstrained text.

Pure and data-driven (the words come from ``grammars/<lang>/``). The asymmetry is
deliberate: "no" is accepted only when the whole utterance is made of no-phrases, while
"yes" may be found inside a longer answer, because a wrong "yes" only leads to the safe
route and a wrong "no" can lead an injured person into exercises.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from voiceguide.content.models import Answers, GrammarBook
from voiceguide.dialogue.intents import Intent

Tokens = tuple[str, ...]
_NOT_WORD = re.compile(r"[^a-z0-9\s]+")


def normalize(text: str) -> Tokens:
    """Lower case, apostrophes dropped ("don't" == "dont"), other punctuation as spaces."""
    text = text.lower().replace("\u2019", "'").replace("'", "")
    return tuple(_NOT_WORD.sub(" ", text).split())


def _contains(tokens: Tokens, phrase: Tokens) -> bool:
    n = len(phrase)
    return any(tokens[i : i + n] == phrase for i in range(len(tokens) - n + 1))


class Understander:
    """Precomputed phrase tables for one grammar book."""

    def __init__(self, book: GrammarBook) -> None:
        self._book = book
        u = book.understanding
        self._fillers = [normalize(f) for f in u.fillers]
        self._hedges = [normalize(h) for h in u.hedges]
        self._negators = {t for n in u.negators for t in normalize(n)}
        self._by_intent = {
            Intent(name): [normalize(p) for p in phrases] for name, phrases in book.phrases.items()
        }

    def _segment(
        self, tokens: Tokens, intents: Sequence[Intent], extra: dict[Intent, list[Tokens]]
    ) -> set[Intent] | None:
        """The intents of a split of ``tokens`` into whole phrases, or None if none exists.

        Fillers ("um", "well", "so") may sit between phrases and add no meaning; they are
        segments of their own rather than deleted words, so "i don't think so" keeps its "so".
        """
        # best[i]: intents used by a full segmentation of tokens[:i] (first one found).
        best: list[set[Intent] | None] = [None] * (len(tokens) + 1)
        best[0] = set()
        for i in range(len(tokens)):
            here = best[i]
            if here is None:
                continue
            for filler in self._fillers:
                j = i + len(filler)
                if filler and tokens[i:j] == filler and best[j] is None:
                    best[j] = here
            for intent in intents:
                for phrase in [*self._by_intent.get(intent, []), *extra.get(intent, [])]:
                    j = i + len(phrase)
                    if phrase and tokens[i:j] == phrase and best[j] is None:
                        best[j] = here | {intent}
        return best[len(tokens)]

    def understand(self, text: str, grammar: str, answers: Answers | None = None) -> Intent | None:
        """The intent of ``text`` under a grammar, or None when it is unclear.

        ``answers`` are whole sentences that answer the question being asked ("i can
        walk"); they count only as whole phrases, like every other phrase.
        """
        spec = self._book.grammars[grammar]
        allowed = [Intent(i) for i in spec.intents]
        tokens = normalize(text)
        if not tokens:
            return None
        for name in spec.anywhere:
            intent = Intent(name)
            if any(_contains(tokens, p) for p in self._by_intent[intent]):
                return intent
        extra: dict[Intent, list[Tokens]] = {}
        if answers is not None:
            extra = {
                Intent.YES: [normalize(p) for p in answers.yes],
                Intent.NO: [normalize(p) for p in answers.no],
            }
        found = self._segment(tokens, allowed, extra)
        if found is not None and len(found) == 1:
            return next(iter(found))
        if found is not None:
            return None  # "no, yes": two meanings at once is doubt.
        if Intent.YES in allowed and self._loose_yes(tokens):
            return Intent.YES
        return None

    def _loose_yes(self, core: Tokens) -> bool:
        has_yes = any(_contains(core, p) for p in self._by_intent.get(Intent.YES, []))
        if not has_yes:
            return False
        if any(t in self._negators for t in core):
            return False
        if any(_contains(core, h) for h in self._hedges):
            return False
        return not any(_contains(core, p) for p in self._by_intent.get(Intent.NO, []))


_CACHE: dict[int, tuple[GrammarBook, Understander]] = {}


def understander_for(book: GrammarBook) -> Understander:
    """One shared Understander per loaded grammar book (building the tables is not free)."""
    hit = _CACHE.get(id(book))
    if hit is None or hit[0] is not book:
        hit = (book, Understander(book))
        _CACHE[id(book)] = hit
    return hit[1]
