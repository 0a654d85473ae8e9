"""JSGF grammars from ``grammars/<lang>/`` data (pure text generation, testable)."""

from __future__ import annotations

from collections.abc import Iterable


def _alternatives(items: Iterable[str]) -> str:
    return " | ".join(sorted(set(items)))


def build_jsgf(
    name: str, phrases: Iterable[str], garbage: Iterable[str] = (), around: Iterable[str] = ()
) -> str:
    """One public rule: any answer phrase, or (if given) any single garbage word.

    ``around``: a few words (the guide's count words, or the words of what it is saying)
    that may come before or after the answer, or make up the whole utterance, for speech
    over the guide's voice. Kept small: loops over a large vocabulary make the JSGF search
    explode.
    """
    answers = list(phrases)
    if not answers:
        raise ValueError(f"grammar {name!r} has no phrases")
    fillers = [g for g in garbage if g not in answers]
    rules = [f"<answer> = {_alternatives(answers)};"]
    top = "<answer>"
    if fillers:
        rules.append(f"<garbage> = {_alternatives(fillers)};")
        top = "<answer> | <garbage>"
    near = sorted(set(around) - set(answers))
    if near:
        rules.append(f"<around> = {_alternatives(near)};")
        top += " | <around>+ <answer> <around>* | <answer> <around>+ | <around>+"
    safe = "".join(c if c.isalnum() else "_" for c in name)
    return "\n".join(["#JSGF V1.0;", f"grammar {safe};", f"public <utterance> = {top};", *rules])
