"""`check`, `devices`, `say` and `listen` as a user runs them, with and without audio devices."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from tests.speechgen import speak
from tests.virtual_audio import missing_tools, virtual_audio

CLI = [sys.executable, "-m", "voiceguide.cli"]
needs_pulse = pytest.mark.skipif(
    bool(missing_tools()), reason=f"PulseAudio tools missing: {missing_tools()}; scripts/setup"
)


def vg(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=120, env=env or dict(os.environ)
    )


def no_audio_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PULSE_SERVER"] = "unix:/nonexistent/pulse"
    return env


def test_check_without_devices_is_truthful() -> None:
    proc = vg("check", env=no_audio_env())
    assert proc.returncode == 1
    out = proc.stdout
    assert "PASS  speech out" in out and "PASS  recognizer  pocketsphinx" in out
    assert "FAIL  microphone" in out and "FAIL  speaker" in out
    assert "INFO  loopback    not tried" in out
    assert "voiceguide demo" in out and "Traceback" not in proc.stderr


def test_devices_and_run_without_devices_point_to_demo_and_text() -> None:
    for args in (["devices"], ["run"]):
        proc = vg(*args, env=no_audio_env())
        assert proc.returncode == 1, args
        assert "voiceguide demo" in proc.stderr and "--text" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr


def test_say_writes_wav(tmp_path: Path) -> None:
    wav = tmp_path / "said.wav"
    proc = vg("say", "--wav", str(wav), "Lie on your back.")
    assert proc.returncode == 0, proc.stderr
    data, rate = soundfile.read(wav, dtype="int16")
    assert rate == 22050 and len(data) > rate // 2 and abs(data).max() > 1000
    assert vg("say", "").returncode == 2
    assert vg("say", "--rate", "9", "hi").returncode == 2
    assert vg("say", "--voice", "xx/none", "--wav", str(wav), "hi").returncode == 2


def test_listen_to_files(tmp_path: Path) -> None:
    yes, marvin, bad = tmp_path / "yes.wav", tmp_path / "marvin.wav", tmp_path / "bad.wav"
    soundfile.write(yes, speak("yes", "en-us+f2"), 16000)
    soundfile.write(marvin, speak("marvin", "en-us+f2"), 16000)
    bad.write_bytes(b"not audio")
    quiet = tmp_path / "quiet.wav"
    soundfile.write(quiet, np.zeros(16000, dtype=np.int16), 16000)
    files = [str(yes), str(marvin), str(quiet), str(bad)]
    proc = vg("listen", "--engine", "pocketsphinx", *files)
    assert proc.returncode == 1  # one file could not be read
    lines = proc.stdout.splitlines()
    assert lines[0].startswith(f"{yes}: yes  ->  yes (score"), lines[0]
    assert lines[1].startswith(f"{marvin}: "), lines[1]
    assert "rejected" in lines[1]
    assert lines[2] == f"{quiet}: -  ->  nothing heard (the endpointer found no speech)"
    assert "bad.wav" in proc.stderr and "Traceback" not in proc.stderr
    # Cut as live, the decoder gets the piece the endpointer cut (the runtime's length);
    # --whole decodes the file as it is (digital silence counts: its full length).
    whole = vg("listen", "--engine", "pocketsphinx", "--whole", str(yes), str(quiet))
    whole_lines = whole.stdout.splitlines()
    assert whole_lines[0].endswith(f"{len(speak('yes', 'en-us+f2')) / 16000:.2f} s]")
    assert whole_lines[1].startswith(f"{quiet}: ") and "nothing heard" not in whole_lines[1]
    live_seconds = float(lines[0].rsplit(", ", 1)[1].split(" s]")[0])
    assert live_seconds != float(whole_lines[0].rsplit(", ", 1)[1].split(" s]")[0])
    assert vg("listen", "--grammar", "nope", str(yes)).returncode == 2


@needs_pulse
def test_check_and_devices_on_virtual_devices() -> None:
    with virtual_audio(room=True) as env:
        devices = vg("devices", env=env)
        check = vg("check", env=env)
    assert devices.returncode == 0 and "><" in devices.stdout, devices.stdout
    assert check.returncode == 0, check.stdout
    assert "PASS  microphone" in check.stdout and "PASS  speaker" in check.stdout
    assert "PASS  loopback" in check.stdout
    with virtual_audio(room=False) as env:
        quiet = vg("check", env=env)
    assert quiet.returncode == 0 and "INFO  loopback    the microphone did not hear" in quiet.stdout


@needs_pulse
def test_listen_on_virtual_microphone(tmp_path: Path) -> None:
    from tests.virtual_audio import play_into_mic

    wav = tmp_path / "yes.wav"
    soundfile.write(wav, speak("yes", "en-us+f2"), 16000)
    with virtual_audio() as env:
        proc = subprocess.Popen(
            [*CLI, "listen", "--seconds", "6"], env=env, stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None
        assert "speak now" in proc.stdout.readline()
        play_into_mic(env, wav)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert any(line.startswith("yes  ->  ") for line in out.splitlines()), out


@needs_pulse
def test_benches_run_on_virtual_devices() -> None:
    """The benchmark commands work end to end; their figures go to BENCHMARKS.md, not here."""
    import json

    with virtual_audio() as env:
        latency = vg("bench", "latency", "--turns", "2", "--json", env=env)
        timing = vg("bench", "timing", "--skip-routine", "--naive-counts", "4", "--json", env=env)
        startup = vg("bench", "startup", "--monitor", "vspeaker.monitor", "--runs", "1",
                     "--json", env=env)  # fmt: skip
    assert latency.returncode == 0, latency.stderr
    lat = json.loads(latency.stdout)
    assert lat["turns"] == 2
    assert set(lat["median_ms_by_stage"]) == {
        "endpointing", "decoding", "dialogue_and_render", "speech_start"
    }  # fmt: skip
    assert timing.returncode == 0, timing.stderr
    naive = json.loads(timing.stdout)["naive"]
    # Sleeping a period after each spoken word drifts by at least the words' length.
    assert naive["counts"] == 4 and naive["end_drift_ms"] > 3 * 200
    assert startup.returncode == 0, startup.stderr
    start = json.loads(startup.stdout)
    assert start["runs"] == 1 and 0 < start["first_word_s"] < 15 and start["rss_mb"] > 10


def test_benches_without_devices_say_so() -> None:
    for bench in ("latency", "timing"):
        proc = vg("bench", bench, env=no_audio_env())
        assert proc.returncode == 1 and "no audio device" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr


MIC_LOSS_SCRIPT = r"""
import io, sys, time
import numpy as np
from voiceguide.audio.devices import NoAudioDevice, Speaker
from voiceguide.content import load_content
from voiceguide.runtime.voice import VoiceIO
from voiceguide.speech.select import make_recognizer
from voiceguide.speech.synthesis import Synthesizer

class FakeMic:
    def __init__(self, blocks):
        self.left, self.alive = blocks, True
    def read(self, timeout):
        time.sleep(0.03)
        if self.left <= 0:
            self.alive = False
            return None
        self.left -= 1
        return np.zeros(480, dtype=np.int16)
    def close(self):
        pass

opens = []
def open_mic():
    opens.append(time.monotonic())
    if len(opens) in (2, 3):
        raise NoAudioDevice("unplugged")
    return FakeMic(20 if len(opens) == 1 else 10**6)

content = load_content("en")
captions = io.StringIO()
speaker = Speaker()
vio = VoiceIO(content, make_recognizer("pocketsphinx", content.grammars),
              Synthesizer(content.locale.tts_voice), speaker, open_mic, captions=captions)
time.sleep(9)
vio.close(); speaker.close()
print(len(opens))
print(captions.getvalue())
"""


@needs_pulse
def test_lost_microphone_is_announced_and_reopened() -> None:
    with virtual_audio() as env:
        proc = subprocess.run(
            [sys.executable, "-c", MIC_LOSS_SCRIPT], capture_output=True, text=True,
            timeout=60, env=env,
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    opens, captions = proc.stdout.split("\n", 1)
    assert int(opens) == 4  # the lost one, two failed retries, then back
    assert "warning: the microphone stopped" in captions
    assert "microphone has gone" in captions  # spoken and captioned (prompts.toml mic_lost)
    assert "I can hear you again." in captions


NO_TTS_SCRIPT = r"""
import io, time
from voiceguide.audio.devices import Speaker
from voiceguide.content import load_content
from voiceguide.dialogue.events import Speak
from voiceguide.runtime.voice import VoiceIO
from voiceguide.speech.select import make_recognizer

class SilentMic:
    alive = True
    def read(self, timeout):
        time.sleep(timeout)
        return None
    def close(self):
        pass

content = load_content("en")
captions = io.StringIO()
speaker = Speaker()
vio = VoiceIO(content, make_recognizer("pocketsphinx", content.grammars), None, speaker,
              SilentMic, captions=captions)
vio.speak(Speak("welcome", "Hello there."))
speaker.wait(5)
time.sleep(0.2)
vio.close(); speaker.close()
print(len(speaker.onsets))
print(captions.getvalue())
"""


@needs_pulse
def test_without_speech_output_captions_and_a_tone_stand_in() -> None:
    with virtual_audio() as env:
        proc = subprocess.run(
            [sys.executable, "-c", NO_TTS_SCRIPT], capture_output=True, text=True,
            timeout=60, env=env,
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    played, captions = proc.stdout.split("\n", 1)
    assert int(played) == 1  # the tone reached the speaker
    assert "guide: Hello there." in captions
