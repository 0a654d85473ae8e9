"""``voiceguide models``: list, install, verify and remove Vosk speech models."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from voiceguide.config import Settings
from voiceguide.speech import model_install as mi
from voiceguide.speech.model_store import (
    ModelError,
    cache_dir,
    find_installed_model,
    installed_models,
    probe_model,
)

HELP = """\
Vosk models live in vosk's own cache folder (~/.cache/vosk, or $VOICEGUIDE_MODEL_DIR),
where `voiceguide run` finds them. `install LANG` takes the current small model for that
language from the Vosk catalog: it shows progress, checks the archive's hash, resumes an
interrupted download when run again, and unpacks atomically, so a half-installed model
is never visible. The catalog address is the setting VOICEGUIDE_MODEL_LIST_URL.
Without any Vosk model, English still works with the PocketSphinx model that ships
with the Python package.
"""

EXAMPLES = """\
examples:
  voiceguide models list
  voiceguide models list --available      what the catalog offers
  voiceguide models install en
  voiceguide models verify
  voiceguide models remove en
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "models",
        help="list, install, verify or remove Vosk models",
        description=HELP,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    ls = actions.add_parser("list", help="installed models (and, with --available, the catalog)")
    ls.add_argument("--available", action="store_true", help="also list the catalog's models")
    inst = actions.add_parser("install", help="install the small model for a language")
    inst.add_argument("lang", metavar="LANG", help="language code, e.g. en, de, fr, ko")
    actions.add_parser(
        "verify",
        help="check every installed model against its install record, load it, and ask "
        "it for the language's yes/no words",
    )
    rm = actions.add_parser("remove", help="delete the installed model for a language")
    rm.add_argument("lang", metavar="LANG", help="language code, or a model's folder name")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    try:
        return int(ACTIONS[args.action](args))
    except ModelError as exc:
        print(f"voiceguide models: {exc}", file=sys.stderr)
        return 1


def _list(args: argparse.Namespace) -> int:
    found = installed_models()
    if not found:
        print("no Vosk models installed (English uses PocketSphinx's built-in model)")
    for path in found:
        name = path.name if path.name != "model" else f"{path.parent.name} (Python package)"
        print(f"{name:40s} {path}")
    if args.available:
        print("\navailable (small, current):")
        for e in mi.fetch_catalog(Settings().model_list_url):
            if e.current and e.type == "small":
                print(f"  {e.lang:8s} {e.name:40s} {e.size / 1e6:7.1f} MB")
    return 0


def _install(args: argparse.Namespace) -> int:
    catalog = mi.fetch_catalog(Settings().model_list_url)
    entry = mi.pick(catalog, args.lang)
    print(f"voiceguide models: {entry.name} ({entry.size / 1e6:.1f} MB) from {entry.url}")
    folder, new = mi.install(entry, cache_dir(), mi.bar())
    if new:
        print(f"voiceguide models: installed {entry.name} in {folder}")
    else:
        print(f"voiceguide models: {entry.name} is already installed in {folder}")
    return 0


def _verify(_args: argparse.Namespace) -> int:
    found = installed_models()
    if not found:
        print("no Vosk models installed; nothing to verify")
        return 0
    bad = 0
    for path in found:
        problems = mi.verify(path)
        if not problems:  # the files are as installed; now really load it
            problems = probe_model(path, *_answer_words(path))
        print(f"{'OK  ' if not problems else 'BAD '} {path}")
        for problem in problems:
            print(f"     {problem}")
        bad += bool(problems)
    return 1 if bad else 0


def _answer_words(path: Path) -> tuple[list[str], list[str]]:
    """The answer words of the model's language, if voiceguide has content for it."""
    from voiceguide.content import ContentError, load_grammars
    from voiceguide.speech.select import answer_words

    named = re.match(r"^vosk-model(?:-small)?-([a-z]{2,3})(?:-|$)", path.name)
    lang = named.group(1) if named else path.parent.name.removeprefix("vosk_model_")
    try:
        return answer_words(load_grammars(lang))
    except ContentError:
        return [], []  # no content in that language: loading it is all we can check


def _remove(args: argparse.Namespace) -> int:
    named = cache_dir() / args.lang
    folder = named if named.is_dir() else find_installed_model(args.lang)
    if folder is None or not folder.is_dir():
        print(f"voiceguide models: no installed model for {args.lang!r}", file=sys.stderr)
        return 1
    if cache_dir() not in folder.parents:
        where = f"voiceguide models: {folder} is outside {cache_dir()}; remove it yourself"
        print(where, file=sys.stderr)
        return 1
    mi.remove(folder)
    print(f"voiceguide models: removed {folder}")
    return 0


ACTIONS = {"list": _list, "install": _install, "verify": _verify, "remove": _remove}
