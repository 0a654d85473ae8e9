"""Installing Vosk models: catalog, resumable download, hash check, atomic unpack.

The catalog is the JSON list Vosk publishes (``Settings.model_list_url``; a list of
objects with ``name``, ``lang``, ``url``, ``size``, ``type``, ``obsolete`` and a hash).
Nothing half-done is ever visible as a model: the archive grows in ``.partial/`` (and a
dropped download resumes from there), is checked, unpacked into a temporary folder,
validated, and only then renamed into place in one step.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from voiceguide.speech.model_store import ModelError, validate_model_dir

MANIFEST = "voiceguide-install.json"
CHUNK = 1 << 16

Progress = Callable[[int, int], None]


class CatalogEntry(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(pattern=r"^[A-Za-z0-9._-]+$")
    lang: str
    url: str
    size: int = 0
    type: str = ""
    obsolete: str | bool = False
    sha256: str | None = None
    md5: str | None = None

    @property
    def current(self) -> bool:
        return str(self.obsolete).lower() != "true"


def fetch_catalog(url: str, timeout: float = 20) -> list[CatalogEntry]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            raw = response.read()
    except (urllib.error.URLError, OSError) as exc:
        raise ModelError(f"could not read the model catalog at {url}: {exc}") from None
    try:
        data = json.loads(raw)
        if not isinstance(data, list):
            raise ValueError("expected a JSON list")
        return [CatalogEntry.model_validate(item) for item in data]
    except (ValueError, ValidationError) as exc:
        raise ModelError(f"the model catalog at {url} is not usable: {exc}") from None


def pick(entries: list[CatalogEntry], lang: str) -> CatalogEntry:
    """The current small model for ``lang`` ("en" also matches "en-us")."""
    wanted = [e for e in entries if e.current and (e.lang == lang or e.lang.split("-")[0] == lang)]
    small = [e for e in wanted if e.type == "small"] or wanted
    if not small:
        langs = ", ".join(sorted({e.lang for e in entries if e.current}))
        raise ModelError(f"the catalog has no model for {lang!r}; it has: {langs}")
    # Exact language first ("en-us" before "en-in" for "en"), then the US variant.
    small.sort(key=lambda e: (e.lang != lang, e.lang != f"{lang}-us", e.name))
    return small[0]


def _hashes(path: Path) -> tuple[str, str]:
    sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            sha.update(block)
            md5.update(block)
    return sha.hexdigest(), md5.hexdigest()


def download(entry: CatalogEntry, partial: Path, progress: Progress, timeout: float = 30) -> None:
    """Fetch ``entry.url`` into ``partial``, resuming what an earlier try left there."""
    have = partial.stat().st_size if partial.exists() else 0
    request = urllib.request.Request(entry.url)
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            resumed = response.status == 206
            if not resumed:
                have = 0  # the server sent the whole file again
            length = response.headers.get("Content-Length")
            total = have + int(length) if length else entry.size
            with partial.open("ab" if resumed else "wb") as out:
                got = have
                progress(got, total)
                while True:
                    block = response.read(CHUNK)
                    if not block:
                        break
                    out.write(block)
                    got += len(block)
                    progress(got, total)
            if total and got < total:
                raise ModelError(
                    f"the download of {entry.name} stopped at {got} of {total} bytes; "
                    "run the same command again to resume"
                )
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        if isinstance(exc, urllib.error.HTTPError) and exc.code == 416:
            return  # already complete: the check below decides
        raise ModelError(
            f"the download of {entry.name} failed ({exc}); run the same command again to resume"
        ) from None


def check_archive(entry: CatalogEntry, archive: Path) -> str:
    """The archive's SHA-256, after checking it against the catalog's hash."""
    sha, md5 = _hashes(archive)
    expected = entry.sha256 or entry.md5
    actual = sha if entry.sha256 else md5
    if expected is None:
        raise ModelError(f"the catalog gives no hash for {entry.name}; refusing to install it")
    if actual != expected.lower():
        archive.unlink()
        kind = "SHA-256" if entry.sha256 else "MD5"
        raise ModelError(
            f"{entry.name}: the archive's {kind} is {actual}, the catalog says {expected}; "
            "the corrupt download was deleted, run the command again"
        )
    return sha


def unpack(archive: Path, entry: CatalogEntry, cache: Path, archive_sha256: str) -> Path:
    target = cache / entry.name
    staging = cache / f".unpack-{entry.name}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        try:
            with zipfile.ZipFile(archive) as zf:
                for member in zf.namelist():
                    if member.startswith("/") or ".." in Path(member).parts:
                        raise ModelError(f"{entry.name}: unsafe path {member!r} in the archive")
                zf.extractall(staging)
        except zipfile.BadZipFile as exc:
            archive.unlink()
            raise ModelError(f"{entry.name}: not a zip archive ({exc}); deleted it") from None
        tops = [p for p in staging.iterdir()]
        folder = tops[0] if len(tops) == 1 and tops[0].is_dir() else staging
        validate_model_dir(folder)
        files = {
            str(p.relative_to(folder)): _hashes(p)[0]
            for p in sorted(folder.rglob("*"))
            if p.is_file()
        }
        manifest = {
            "name": entry.name,
            "url": entry.url,
            "archive_sha256": archive_sha256,
            "installed": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "files": files,
        }
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=1))
        os.replace(folder, target)  # the one step that makes the model visible
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def install(
    entry: CatalogEntry, cache: Path, progress: Progress, timeout: float = 30
) -> tuple[Path, bool]:
    """Install ``entry`` into ``cache``; returns (folder, False) if it was already there."""
    target = cache / entry.name
    if target.is_dir():
        validate_model_dir(target)
        return target, False
    partial_dir = cache / ".partial"
    partial_dir.mkdir(parents=True, exist_ok=True)
    archive = partial_dir / f"{entry.name}.zip"
    download(entry, archive, progress, timeout)
    sha = check_archive(entry, archive)
    folder = unpack(archive, entry, cache, sha)
    archive.unlink()
    return folder, True


def verify(folder: Path) -> list[str]:
    """Problems with an installed model: missing parts, or files changed since install."""
    try:
        validate_model_dir(folder)
    except ModelError as exc:
        return [str(exc)]
    manifest = folder / MANIFEST
    if not manifest.is_file():
        return []  # installed by other means: structure is all we can check
    files: dict[str, str] = json.loads(manifest.read_text()).get("files", {})
    problems = []
    for rel, sha in files.items():
        path = folder / rel
        if not path.is_file():
            problems.append(f"{rel} is missing")
        elif _hashes(path)[0] != sha:
            problems.append(f"{rel} has changed since it was installed")
    return problems


def remove(folder: Path) -> None:
    """Take the model out of sight in one rename, then delete it."""
    trash = folder.with_name(f".remove-{folder.name}-{os.getpid()}")
    os.replace(folder, trash)
    shutil.rmtree(trash)


def bar(stream: TextIO = sys.stderr) -> Progress:
    """A progress display: a redrawn bar on a terminal, a line per 10 % elsewhere."""
    tty = stream.isatty()
    last = [-1]

    def show(got: int, total: int) -> None:
        if not total:
            return
        pct = min(100, got * 100 // total)
        if tty:
            filled = pct * 30 // 100
            line = f"\r[{'#' * filled}{'.' * (30 - filled)}] {pct:3d}%  {got / 1e6:.1f} MB"
            print(line, end="" if pct < 100 else "\n", file=stream, flush=True)
        elif pct // 10 != last[0] // 10 or (pct == 100 and last[0] != 100):
            line = f"download: {pct}% ({got / 1e6:.1f} of {total / 1e6:.1f} MB)"
            print(line, file=stream, flush=True)
        last[0] = pct

    return show
