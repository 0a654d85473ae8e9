"""The installed package, as a user gets it from `pip install .` or `pipx install .`.

How the test keeps to that and stays fast (about 20 s on an idle machine, 12 s of CPU):

- The wheel is built from a copy of the source tree in a temporary folder, by
  `pip wheel --no-deps` from the source distribution, with pip's usual build isolation
  (build tools come from the package index or pip's cache). So the sdist must carry
  everything the wheel needs, and the repository gets no build/ folder.
- It is installed with `pip --python VENV install --no-deps` into a fresh venv
  (`--without-pip`) in another temporary folder, outside the repository.
- Only the *dependencies* (numpy, pocketsphinx, pyttsx3, ...) are borrowed from the
  repository's .venv, through one .pth line naming its site-packages folder. A .pth line
  only appends a folder to sys.path; the .pth files inside that folder, such as the
  repository's editable install of voiceguide, are not processed. So `voiceguide` itself
  can only be imported from the wheel, and the test checks that it is.

Everything then runs from the temporary folder with no audio device, a private
$XDG_CONFIG_HOME and no $VOICEGUIDE_CONTENT_DIR.
"""

from __future__ import annotations

import filecmp
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import time
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import content

REPO = Path(__file__).resolve().parents[1]
N = len(content().screening.questions)
#: Not part of a source tree: caches, environments and build output.
NOT_SOURCE = shutil.ignore_patterns(
    ".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis",
    "demo-output", "out",
)  # fmt: skip


@dataclass
class Installed:
    root: Path  # the temporary folder the commands run in
    python: Path
    script: Path  # the console script pip wrote
    wheel: Path
    sdist: Path | None  # None when this Python has no setuptools to make one
    env: dict[str, str]
    seconds: float  # to build and install

    def run(
        self, *args: str, stdin: str = "", module: bool = False, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.python), "-m", "voiceguide"] if module else [str(self.script)]
        return subprocess.run(
            [*cmd, *args], input=stdin, capture_output=True, text=True, timeout=timeout,
            cwd=self.root, env=self.env,
        )  # fmt: skip


def _pip(*args: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, f"pip {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    started = time.perf_counter()
    root = tmp_path_factory.mktemp("installed")
    source = root / "source"
    shutil.copytree(REPO, source, ignore=NOT_SOURCE)
    dist = root / "dist"
    sdist: Path | None = None
    if importlib.util.find_spec("setuptools") is not None:
        # Like `python -m build`: the sdist first, then the wheel from it. (A venv made by
        # Python 3.12 or newer has no setuptools; then the wheel comes from the tree.)
        build_sdist = f"from setuptools import build_meta as b; b.build_sdist({str(dist)!r})"
        proc = subprocess.run(
            [sys.executable, "-c", build_sdist], cwd=source, capture_output=True, text=True,
            timeout=300,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        (sdist,) = dist.glob("voiceguide-*.tar.gz")
    _pip("wheel", "--no-deps", "--quiet", "--wheel-dir", str(dist), str(sdist or source))
    (wheel,) = dist.glob("voiceguide-*.whl")

    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(site) / "repo_venv_dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")
    _pip("--python", str(python), "install", "--no-deps", "--no-index", "--quiet", str(wheel))

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VOICEGUIDE_CONTENT_DIR")}
    env["XDG_CONFIG_HOME"] = str(root / "xdg")
    env["PULSE_SERVER"] = "unix:/nonexistent/pulse"  # no sound device: what a server has
    return Installed(
        root, python, venv / "bin" / "voiceguide", wheel, sdist, env,
        time.perf_counter() - started,
    )  # fmt: skip


def test_wheel_carries_the_content_as_it_is_and_all_package_data(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as whl:
        names = set(whl.namelist())
        for folder in ("prompts", "grammars"):
            files = sorted(p for p in (REPO / folder).rglob("*") if p.is_file())
            assert files
            for path in files:
                inside = f"voiceguide/content/{path.relative_to(REPO).as_posix()}"
                assert whl.read(inside) == path.read_bytes(), inside
        # Whatever data sits inside the package (the answer model's head and card too).
        data = [
            p for p in (REPO / "voiceguide").rglob("*")
            if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
        ]  # fmt: skip
        assert data  # at least py.typed
        for path in data:
            assert path.relative_to(REPO).as_posix() in names
    if installed.sdist is None:
        pytest.skip("no setuptools in this Python to build a source distribution with")
    with tarfile.open(installed.sdist) as sdist:
        members = {m.name.split("/", 1)[1] for m in sdist.getmembers() if "/" in m.name}
    assert {"prompts/en/prompts.toml", "grammars/en/grammars.toml", "setup.py"} <= members


def test_voiceguide_is_imported_from_the_wheel_with_its_content(installed: Installed) -> None:
    proc = subprocess.run(
        [str(installed.python), "-c",
         "import voiceguide; from voiceguide.content.loader import content_root; "
         "print(voiceguide.__file__); print(content_root())"],
        capture_output=True, text=True, cwd=installed.root, env=installed.env, check=True,
    )  # fmt: skip
    module, root = (Path(line) for line in proc.stdout.splitlines())
    venv = installed.python.parent.parent
    assert module.is_relative_to(venv) and root.is_relative_to(venv), proc.stdout
    assert not root.is_relative_to(REPO)
    # The installed copy is the repository's content, unchanged.
    for folder in ("prompts", "grammars"):
        cmp = filecmp.dircmp(REPO / folder, root / folder)
        assert not (cmp.left_only or cmp.right_only or cmp.diff_files), folder


def _route_and_what_followed(log: Path) -> tuple[list[str], str]:
    """The routes taken, and the text of the first prompt after the first route."""
    records = [json.loads(line) for line in log.read_text().splitlines()]
    kinds = [r["type"] for r in records]
    routes = [str(r["to"]) for r in records if r["type"] == "route"]
    after = records[kinds.index("route") + 1 :] if routes else []
    return routes, next((str(r["text"]) for r in after if r["type"] == "prompt"), "")


def test_run_text_both_routes_from_the_console_script_and_python_m(installed: Installed) -> None:
    log = installed.root / "yes.jsonl"
    yes = installed.run("run", "--text", "--seed", "3", "--log", str(log), stdin="no\nyes\n")
    assert yes.returncode == 0 and "Traceback" not in yes.stderr, yes.stderr
    routes, advice = _route_and_what_followed(log)
    assert routes == ["emergency"]
    assert advice and advice in yes.stdout  # the emergency advice was printed

    # `python -m voiceguide` is the same program: the same seeded session, word for word.
    module = installed.run("run", "--text", "--seed", "3", stdin="no\nyes\n", module=True)
    assert module.returncode == 0 and module.stdout == yes.stdout
    assert installed.run("--help", module=True).stdout == installed.run("--help").stdout

    log = installed.root / "no.jsonl"
    no = installed.run("run", "--text", "--seed", "3", "--log", str(log), stdin="no\n" * N)
    assert no.returncode == 0 and "Traceback" not in no.stderr, no.stderr
    routes, coaching = _route_and_what_followed(log)
    assert routes == ["coaching"]
    assert coaching and coaching in no.stdout


def test_content_dir_option_and_variable_override_the_packaged_content(
    installed: Installed,
) -> None:
    edited = installed.root / "edited-content"
    for folder in ("prompts", "grammars"):
        shutil.copytree(REPO / folder, edited / folder)
    prompts = edited / "prompts" / "en" / "prompts.toml"
    text = prompts.read_text()
    for wording in tomllib.loads(text)["prompts"]["welcome"]:
        text = text.replace(wording, "An edited welcome from another folder.")
    prompts.write_text(text)
    by_option = installed.run("run", "--text", "--content", str(edited), stdin="yes\n")
    assert by_option.stdout.startswith("An edited welcome from another folder.\n")
    installed.env["VOICEGUIDE_CONTENT_DIR"] = str(edited)
    try:
        by_variable = installed.run("run", "--text", stdin="yes\n")
    finally:
        del installed.env["VOICEGUIDE_CONTENT_DIR"]
    assert by_variable.stdout.startswith("An edited welcome from another folder.\n")
    assert not installed.run("run", "--text", stdin="yes\n").stdout.startswith("An edited")


def test_demo_and_check_from_the_installed_package(installed: Installed) -> None:
    out = installed.root / "demo-output"
    demo = installed.run("demo", "--out", str(out), timeout=300)
    assert demo.returncode == 0, demo.stderr
    summary = json.loads((out / "summary.json").read_text())
    # Both scenarios ran; which route the coaching one takes depends on what the
    # recognizer hears of the simulated voices (tests/test_demo.py checks it is safe).
    assert [s["scenario"] for s in summary] == ["emergency", "coaching"]
    assert summary[0]["routes"][0] == "emergency"
    assert list(out.rglob("*.wav"))

    check = installed.run("check", "--no-loopback")
    lines = check.stdout.splitlines()
    config = installed.root / "xdg" / "voiceguide" / "config.toml"
    assert f"INFO  config      no file at {config}" in lines[0]
    for name in ("content", "speech out", "recognizer"):
        assert any(line.startswith(f"PASS  {name}") for line in lines), check.stdout
    # With no sound device, exactly the devices fail, and check says what still works.
    assert check.returncode == 1 and "check: 2 failed (microphone, speaker)" in check.stdout
    assert "Traceback" not in check.stderr
    print(f"\nwheel built and installed in {installed.seconds:.1f} s")


def test_python_m_voiceguide_in_the_repository() -> None:
    """The same entry point without installing: `python -m voiceguide` runs cli.main."""
    here = subprocess.run(
        [sys.executable, "-m", "voiceguide", "--version"], capture_output=True, text=True,
        cwd=REPO, check=True,
    )  # fmt: skip
    assert here.stdout.strip().startswith("voiceguide ")
    bad = subprocess.run(
        [sys.executable, "-m", "voiceguide", "run", "--text", "--time-scale", "0"],
        capture_output=True, text=True, cwd=REPO,
    )  # fmt: skip
    assert bad.returncode == 2 and "voiceguide run: error: argument --time-scale" in bad.stderr
