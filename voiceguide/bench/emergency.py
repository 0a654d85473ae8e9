"""``voiceguide bench emergency``: is a call for help heard in every listening turn?

DIR holds one folder per emergency phrase (words joined by underscores: ``call_for_help``)
and ``_unknown_`` with other speech. Every clip is said into a quiet room during each
listening grammar the dialogue uses (``yes_no`` for red-flag questions, ``coaching``,
``emergency``), cut by the runtime's endpointer and decided as live
(``runtime/utterance.py``). It counts as heard when the dialogue would take the
emergency route: an accepted utterance whose intent, or whose text as the dialogue reads
it, is an emergency. The first utterance is decided in the turn's grammar; after the
guide has answered it (a re-ask, a reminder), later pieces are heard over its voice and
judged by the turn's strict over-speech grammar, as the runtime would.

``recall``: share of emergency clips heard as an emergency, per grammar.
``false_emergency``: share of ``_unknown_`` clips heard as one, per grammar.
``scripts/make-emergency-set DIR`` writes such a folder.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from voiceguide.audio.files import AudioFormatError, load_audio
from voiceguide.bench.speechbench import (
    NOISE,
    SILENCE,
    UNKNOWN,
    Progress,
    add_options,
    audio_files,
    ratio,
    run_with_recognizer,
)
from voiceguide.content.models import Content
from voiceguide.dialogue.events import Heard, InputEvent
from voiceguide.dialogue.intents import Intent
from voiceguide.dialogue.understanding import understander_for
from voiceguide.runtime.utterance import decide, padded, utterances
from voiceguide.speech.recognizer import Recognizer

#: The grammars the dialogue listens with (the over-speech ones follow from them).
GRAMMARS = ("yes_no", "coaching", "emergency")


def heard_emergency(
    recognizer: Recognizer, content: Content, pieces: list[np.ndarray], turn: str
) -> str | None:
    """What the dialogue would take as a call for help in these utterances (the text
    heard), or None if it would not take the emergency route."""
    understander = understander_for(content.grammars)

    def emergency(event: InputEvent) -> bool:
        if not isinstance(event, Heard):
            return False
        if event.intent is Intent.EMERGENCY:
            return True
        return bool(event.text) and understander.understand(event.text, turn) is Intent.EMERGENCY

    guide_talking = False
    for audio in pieces:
        decision = decide(recognizer, content, audio, turn, overlapped=guide_talking)
        if decision.event is None:
            continue
        if emergency(decision.event):
            return decision.event.text if isinstance(decision.event, Heard) else ""
        # The guide answers anything in a safety turn (a re-ask, a reminder), and an
        # accepted command while coaching; a rejected remark while coaching it ignores.
        guide_talking = turn != "coaching" or isinstance(decision.event, Heard)
    return None


def collect(data: Path, limit: int | None) -> list[tuple[str, Path]]:
    if not data.is_dir():
        raise FileNotFoundError(f"{data}: not a folder")
    items: list[tuple[str, Path]] = []
    for folder in sorted(p for p in data.iterdir() if p.is_dir()):
        if folder.name in (NOISE, SILENCE):
            continue
        files = audio_files(folder)
        items += [(folder.name, f) for f in (files[:limit] if limit else files)]
    if not any(name != UNKNOWN for name, _ in items):
        raise FileNotFoundError(f"{data}: no emergency phrase folders (e.g. call_for_help/)")
    return items


def run_bench(
    data: Path,
    recognizer: Recognizer,
    content: Content,
    limit: int | None = None,
    seed: int = 0,
    progress: bool = True,
    grammars: tuple[str, ...] = GRAMMARS,
    whole_clip: bool = False,
) -> dict[str, object]:
    items = collect(data, limit)
    hits: dict[str, Counter[str]] = {g: Counter() for g in grammars}
    clips: Counter[str] = Counter()
    false_heard: dict[str, list[str]] = {g: [] for g in grammars}
    unreadable = 0
    show = Progress("bench emergency", len(items), progress)
    for i, (folder, path) in enumerate(items, 1):
        try:
            audio = load_audio(path)
        except AudioFormatError as exc:
            unreadable += 1
            print(f"bench emergency: skipped {exc}", file=sys.stderr)
            continue
        clips[folder] += 1
        for g in grammars:
            rng = np.random.default_rng([seed, i])  # the same room in every grammar
            pieces = [padded(audio)] if whole_clip else utterances(content, audio, g, rng)
            heard = heard_emergency(recognizer, content, pieces, g)
            if heard is not None:
                hits[g][folder] += 1
                if folder == UNKNOWN:
                    false_heard[g].append(f"{path.name}: {heard}")
        show.step(i)
    phrases = [f for f in clips if f != UNKNOWN]
    n_phrase = sum(clips[f] for f in phrases)
    return {
        "engine": recognizer.name,
        "method": "whole clip" if whole_clip else "endpointed as live",
        "recall": {g: ratio(sum(hits[g][f] for f in phrases), n_phrase) for g in grammars},
        "false_emergency": {g: ratio(hits[g][UNKNOWN], clips[UNKNOWN]) for g in grammars},
        "recall_by_phrase": {
            f: {g: ratio(hits[g][f], clips[f]) for g in grammars} for f in sorted(phrases)
        },
        "false_emergency_heard": false_heard,
        "clips": dict(sorted(clips.items())),
        "unreadable": unreadable,
    }


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "emergency",
        help="is a call for help heard in every listening grammar (and nothing else)?",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        epilog=(
            "examples:\n"
            "  scripts/make-emergency-set /tmp/emergency-set\n"
            "  voiceguide bench emergency --data /tmp/emergency-set --json\n"
            "  voiceguide bench emergency --data DIR --limit 10"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", type=Path, required=True, metavar="DIR", help="clip folder")
    p.add_argument("--limit", type=int, metavar="N", help="at most N clips per folder")
    add_options(p)
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    result = run_with_recognizer(
        "emergency",
        args,
        lambda recognizer, content: run_bench(
            args.data,
            recognizer,
            content,
            args.limit,
            args.seed,
            not args.quiet,
            whole_clip=args.whole_clip,
        ),
    )
    if result is None:
        return 2
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"engine {result['engine']}, {result['method']}, clips {result['clips']}")
    print(f"{'':24s}" + "".join(f"{g:>12s}" for g in GRAMMARS))
    rows = [(k, result[k]) for k in ("recall", "false_emergency")]
    by_phrase = result["recall_by_phrase"]
    assert isinstance(by_phrase, dict)
    rows += [(f"  {phrase}", row) for phrase, row in by_phrase.items()]
    for name, row in rows:
        assert isinstance(row, dict)
        cells = ("-" if row.get(g) is None else f"{row[g]:.3f}" for g in GRAMMARS)
        print(f"{name:24s}" + "".join(f"{c:>12s}" for c in cells))
    false_heard = result["false_emergency_heard"]
    assert isinstance(false_heard, dict)
    for g, heard in false_heard.items():
        for line in heard:
            print(f"false emergency in {g}: {line}")
    return 0
