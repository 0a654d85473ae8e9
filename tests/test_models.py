"""`voiceguide models` against a model catalog served on 127.0.0.1: the real download path,
with a dropped connection, a corrupt archive and broken models."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

NAME = "vosk-model-small-xx-0.1"
FILES = ("am/final.mdl", "conf/mfcc.conf", "graph/HCLr.fst", "graph/Gr.fst", "README")


def make_zip(files: tuple[str, ...] = FILES, top: str = NAME) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i, rel in enumerate(files):
            zf.writestr(f"{top}/{rel}", os.urandom(50_000 + i))  # incompressible, ~250 kB
    return buf.getvalue()


class Server:
    """Serves the catalog and one archive; can drop the connection or lie about the hash."""

    def __init__(self) -> None:
        self.archive = make_zip()
        self.sha256 = hashlib.sha256(self.archive).hexdigest()
        self.drop_after: int | None = None
        self.ranges: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: object) -> None:
                pass

            def do_GET(self) -> None:
                if self.path == "/model-list.json":
                    body = json.dumps(outer.catalog()).encode()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                data, start = outer.archive, 0
                rng = self.headers.get("Range")
                if rng:
                    outer.ranges.append(rng)
                    start = int(rng.removeprefix("bytes=").split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                chunk = data[start:]
                if outer.drop_after is not None:
                    chunk = chunk[: outer.drop_after]
                    outer.drop_after = None  # only once
                    self.wfile.write(chunk)
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(chunk)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def catalog(self) -> list[dict[str, object]]:
        return [
            {"name": "vosk-model-xx-0.1", "lang": "xx", "type": "big", "obsolete": "false",
             "url": f"{self.url}/big.zip", "size": 1, "md5": "0" * 32},
            {"name": NAME, "lang": "xx", "type": "small", "obsolete": "false",
             "url": f"{self.url}/{NAME}.zip", "size": len(self.archive), "sha256": self.sha256},
            {"name": "vosk-model-small-xx-0.0", "lang": "xx", "type": "small", "obsolete": "true",
             "url": f"{self.url}/old.zip", "size": 1, "md5": "0" * 32},
        ]  # fmt: skip


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.httpd.shutdown()


def models(server: Server, cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.update(
        VOICEGUIDE_MODEL_DIR=str(cache), VOICEGUIDE_MODEL_LIST_URL=f"{server.url}/model-list.json"
    )
    return subprocess.run(
        [sys.executable, "-m", "voiceguide.cli", "models", *args],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip


def visible(cache: Path) -> list[str]:
    return (
        sorted(p.name for p in cache.iterdir() if not p.name.startswith("."))
        if cache.exists()
        else []
    )


def test_install_list_verify_remove(server: Server, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    proc = models(server, cache, "install", "xx")
    assert proc.returncode == 0, proc.stderr
    assert "download: 100%" in proc.stderr  # progress shown (one line per 10 % off a tty)
    assert visible(cache) == [NAME]
    assert not list((cache / ".partial").iterdir())
    manifest = json.loads((cache / NAME / "voiceguide-install.json").read_text())
    assert manifest["archive_sha256"] == server.sha256
    again = models(server, cache, "install", "xx")
    assert again.returncode == 0 and "already installed" in again.stdout
    assert NAME in models(server, cache, "list").stdout
    available = models(server, cache, "list", "--available").stdout
    assert NAME in available and "vosk-model-small-xx-0.0" not in available
    # The files are as installed, but they are random bytes: verify really loads the model.
    garbage = models(server, cache, "verify")
    assert garbage.returncode == 1 and "Vosk cannot load the model" in garbage.stdout
    assert "Traceback" not in garbage.stdout + garbage.stderr
    (cache / NAME / "conf" / "mfcc.conf").write_bytes(b"tampered")
    bad = models(server, cache, "verify")
    assert bad.returncode == 1 and "conf/mfcc.conf has changed" in bad.stdout
    removed = models(server, cache, "remove", "xx")
    assert removed.returncode == 0, removed.stderr
    assert visible(cache) == []
    assert models(server, cache, "remove", "xx").returncode == 1


def test_dropped_download_resumes(server: Server, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    server.drop_after = len(server.archive) // 3
    first = models(server, cache, "install", "xx")
    assert first.returncode == 1 and "run the same command again to resume" in first.stderr
    assert "Traceback" not in first.stderr
    assert visible(cache) == []  # nothing half-installed is visible
    part = cache / ".partial" / f"{NAME}.zip"
    assert part.stat().st_size == len(server.archive) // 3
    second = models(server, cache, "install", "xx")
    assert second.returncode == 0, second.stderr
    assert server.ranges == [f"bytes={len(server.archive) // 3}-"]
    assert visible(cache) == [NAME]


def test_corrupt_archive_is_rejected_and_cleaned(server: Server, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    server.archive = server.archive[:-10] + b"0123456789"  # catalog keeps the old hash
    proc = models(server, cache, "install", "xx")
    assert proc.returncode == 1 and "SHA-256" in proc.stderr and "deleted" in proc.stderr
    assert visible(cache) == [] and not (cache / ".partial" / f"{NAME}.zip").exists()


@pytest.mark.parametrize(
    ("archive", "message"),
    [
        (b"this is not a zip file at all", "not a zip archive"),
        (make_zip(files=("README",)), "not a usable Vosk model"),
    ],
)
def test_broken_archives_never_become_models(
    server: Server, tmp_path: Path, archive: bytes, message: str
) -> None:
    cache = tmp_path / "cache"
    server.archive = archive
    server.sha256 = hashlib.sha256(archive).hexdigest()
    proc = models(server, cache, "install", "xx")
    assert proc.returncode == 1 and message in proc.stderr, proc.stderr
    assert visible(cache) == []


def test_unknown_language_and_unreachable_catalog(server: Server, tmp_path: Path) -> None:
    proc = models(server, tmp_path, "install", "zz")
    assert proc.returncode == 1 and "no model for 'zz'" in proc.stderr and "xx" in proc.stderr
    server.httpd.shutdown()
    server.httpd.server_close()
    down = models(server, tmp_path, "install", "xx")
    assert down.returncode == 1 and "could not read the model catalog" in down.stderr


def test_broken_model_folder_is_a_clear_error_at_startup(tmp_path: Path) -> None:
    broken = tmp_path / "models" / "vosk-model-small-en-us-9.9"
    (broken / "am").mkdir(parents=True)
    (broken / "am" / "final.mdl").write_bytes(b"")
    env = dict(os.environ, VOICEGUIDE_MODEL_DIR=str(tmp_path / "models"))
    wav = tmp_path / "x.wav"
    wav.write_bytes(b"")
    proc = subprocess.run(
        [sys.executable, "-m", "voiceguide.cli", "listen", "--engine", "vosk", str(wav)],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert proc.returncode == 1
    assert "not a usable Vosk model" in proc.stderr and "am/final.mdl is empty" in proc.stderr
    assert "Traceback" not in proc.stderr
