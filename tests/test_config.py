"""The config file: precedence (options > environment > file > defaults), one-line errors
for a bad file, `config show`, `config init`, and check's line about it.

conftest.py points $XDG_CONFIG_HOME at an empty folder for the whole run; each test here
writes its own file under a fresh one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest

from voiceguide.cli import build_parser
from voiceguide.commands.config import commented_file, config_line
from voiceguide.config import (
    FILE_KEYS,
    ConfigError,
    Engine,
    Settings,
    config_path,
    load_settings,
    origins,
)
from voiceguide.speech.select import ENGINES

CLI = [sys.executable, "-m", "voiceguide"]
YES_ROUTE = ["no", "yes"]  # a "yes" to the second question: the emergency advice


@pytest.fixture
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh $XDG_CONFIG_HOME, no VOICEGUIDE_* variables; returns the config file path."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    for name in list(os.environ):
        if name.startswith("VOICEGUIDE_") and name != "VOICEGUIDE_HYPOTHESIS_PROFILE":
            monkeypatch.delenv(name)
    path = tmp_path / "xdg" / "voiceguide" / "config.toml"
    assert config_path() == path  # platformdirs honours XDG_CONFIG_HOME
    path.parent.mkdir(parents=True)
    return path


def vg(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], input=stdin, capture_output=True, text=True, timeout=120)


def test_precedence_options_over_environment_over_file_over_defaults(
    config_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_home.write_text('region = "GB"\nvolume = 0.5\nspeech_rate = 1.2\nengine = "vosk"\n')
    monkeypatch.setenv("VOICEGUIDE_VOLUME", "0.6")
    monkeypatch.setenv("VOICEGUIDE_REGION", "au")
    s = load_settings({"region": "IE"})
    assert (s.region, s.volume, s.speech_rate, s.count_period_s) == ("IE", 0.6, 1.2, 1.0)
    where = origins({"region": "IE"})
    assert where["region"] == "option"
    assert where["volume"] == "environment VOICEGUIDE_VOLUME"
    assert where["speech_rate"] == "file" and where["engine"] == "file"
    assert where["count_period_s"] == "default"
    assert load_settings().region == "AU"  # without the option, the environment wins
    monkeypatch.delenv("VOICEGUIDE_REGION")
    assert load_settings().region == "GB"  # then the file


def test_the_spoken_number_follows_the_precedence(
    config_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through `run --text`, as a user sees it: the file's region, then the environment's,
    then an option's decide the number in the emergency advice."""
    config_home.write_text('region = "GB"\n')
    lines = "\n".join(YES_ROUTE) + "\n"
    assert "call nine nine nine now" in vg("run", "--text", stdin=lines).stdout
    monkeypatch.setenv("VOICEGUIDE_REGION", "AU")
    assert "call zero zero zero now" in vg("run", "--text", stdin=lines).stdout
    assert "call one one two now" in vg("run", "--text", "--region", "IE", stdin=lines).stdout


def test_file_gives_the_defaults_of_language_engine_and_device_options(config_home: Path) -> None:
    config_home.write_text('engine = "pocketsphinx"\ninput_device = 3\noutput_device = "USB"\n')
    parser = build_parser(load_settings())
    args = parser.parse_args(["check"])
    assert (args.engine, args.input_device, args.output_device) == ("pocketsphinx", "3", "USB")
    args = parser.parse_args(["run", "--engine", "vosk", "--input-device", "1"])
    assert (args.engine, args.input_device, args.lang) == ("vosk", "1", "en")
    # Benchmarks keep their own defaults, so their figures do not depend on a person's file.
    assert parser.parse_args(["bench", "asr", "--data", "d"]).engine == "auto"


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        ("volume = 5\n", "volume", "less than or equal to 1"),
        ("volume = 0.1\n", "volume", "at least min_volume"),
        ('speech_rate = "fast"\n', "speech_rate", "valid number"),
        ('engine = "whisper"\n', "engine", "'pocketsphinx', 'answer-model' or 'fused'"),
        ("count_period_s = 1.95\n", "count_period_s", "at most max_count_period_s"),
        ("volum = 0.5\n", "volum", "did you mean volume?"),
        ("no_min_confidence = 0.1\n", "no_min_confidence", "not a setting the config file"),
        ("volume = \n", "line 1", "not valid TOML"),
    ],
)
def test_bad_file_is_one_line_naming_file_key_and_reason_then_exit_2(
    config_home: Path, text: str, key: str, reason: str
) -> None:
    config_home.write_text(text)
    proc = vg("run", "--text", stdin="no\n")
    assert proc.returncode == 2
    assert proc.stdout == ""  # nothing was said: the session never started
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"voiceguide: {config_home}: ")
    assert key in lines[0] and reason in lines[0], lines[0]


def test_bad_environment_variable_is_named(config_home: Path) -> None:
    env = {**os.environ, "VOICEGUIDE_SPEECH_RATE": "9"}
    proc = subprocess.run(
        [*CLI, "run", "--text"], input="", capture_output=True, text=True, timeout=60, env=env
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "voiceguide: environment variable VOICEGUIDE_SPEECH_RATE (speech_rate): "
        "Input should be less than or equal to 1.6 (got '9')"
    ]


def test_bad_option_is_still_reported_by_the_command(config_home: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"answer_timeout_s": 1})
    assert caught.value.from_options
    proc = vg("run", "--text", "--answer-timeout", "1")
    assert proc.returncode == 2 and proc.stderr.startswith("voiceguide run: invalid setting:")


def test_config_show_says_where_each_value_came_from(
    config_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_home.write_text('region = "GB"\nvolume = 0.5\n')
    monkeypatch.setenv("VOICEGUIDE_VOLUME", "0.9")
    shown = json.loads(vg("config", "show", "--json").stdout)
    assert shown["file"] == str(config_home) and shown["file_exists"]
    got = shown["settings"]
    assert got["region"] == {"value": "GB", "from": "file"}
    assert got["volume"] == {"value": 0.9, "from": "environment VOICEGUIDE_VOLUME"}
    assert got["speech_rate"] == {"value": 1.0, "from": "default"}
    table = vg("config", "show").stdout.splitlines()
    assert table[0] == f"config file: {config_home}"
    assert any(line.split() == ["region", "GB", "file", "config.toml"] for line in table)


def test_config_init_writes_a_commented_file_and_will_not_overwrite(config_home: Path) -> None:
    config_home.parent.rmdir()  # init creates the folder too
    made = vg("config", "init")
    assert made.returncode == 0 and str(config_home) in made.stdout
    text = config_home.read_text()
    assert text == commented_file()
    for key in FILE_KEYS:
        assert f"\n# {key} = " in text  # every setting the file may hold, commented out
    assert load_settings() == Settings()  # as written, it changes nothing
    # Uncommenting any one line gives a valid setting.
    for line in text.splitlines():
        if " = " in line:
            config_home.write_text(line.removeprefix("# ") + "\n")
            load_settings()
    config_home.write_text('region = "GB"\n')
    again = vg("config", "init")
    assert again.returncode == 1 and "--force" in again.stderr
    assert config_home.read_text() == 'region = "GB"\n'
    config_home.write_text("volume = [\n")  # a broken file can still be replaced
    assert vg("config", "init", "--force").returncode == 0
    assert config_home.read_text() == commented_file()


def test_check_names_the_config_file(config_home: Path) -> None:
    status, name, detail, _ = config_line()
    assert (status, name) == ("INFO", "config") and str(config_home) in detail
    config_home.write_text('region = "GB"\nvolume = 0.5\n')
    assert config_line()[:3] == ("PASS", "config", f"{config_home} sets region, volume")
    config_home.write_text('region = "ZZ"\n')
    status, _, detail, fix = config_line()
    assert status == "FAIL" and "'ZZ'" in detail and "GB" in fix
    config_home.write_text("volume = 7\n")
    status, _, detail, _ = config_line()
    assert status == "FAIL" and detail.startswith(f"{config_home}: volume:")


def test_engine_names_match_the_recognizer_choice() -> None:
    assert get_args(Engine) == ENGINES


def test_readme_example_file_is_valid(config_home: Path) -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    example = readme.split("```toml\n", 1)[1].split("```", 1)[0]
    config_home.write_text(example)
    s = load_settings()
    assert (s.region, s.speech_rate, s.output_device, s.engine) == ("GB", 0.85, "2", "pocketsphinx")
    assert {k for k, v in origins().items() if v == "file"} == set(
        line.split(" = ")[0] for line in example.splitlines() if " = " in line
    )


def test_every_file_key_is_a_described_setting() -> None:
    from voiceguide.commands.config import DESCRIPTIONS

    assert set(FILE_KEYS) == set(DESCRIPTIONS) and set(FILE_KEYS) <= set(Settings.model_fields)


def test_check_still_runs_with_a_broken_file_and_reports_it(config_home: Path) -> None:
    config_home.write_text("volume = 7\n")
    env = {**os.environ, "PULSE_SERVER": "unix:/nonexistent/pulse"}
    proc = subprocess.run(
        [*CLI, "check", "--no-loopback"], capture_output=True, text=True, timeout=120, env=env
    )
    lines = proc.stdout.splitlines()
    assert lines[0].startswith(f"FAIL  config      {config_home}: volume: ")
    assert any(line.startswith("PASS  content") for line in lines)
    assert proc.returncode == 1 and "3 failed (config, microphone, speaker)" in proc.stdout
