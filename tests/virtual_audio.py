"""A private PulseAudio with a virtual speaker and microphone, for the real device path.

``vspeaker`` is the default sink (the guide's speaker); ``vmic`` is the default source,
remapped from the monitor of ``vmic_in``, so a sound played into ``vmic_in`` is what the
microphone hears. ``room=True`` also loops the speaker into the microphone.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TOOLS = ("pulseaudio", "pactl", "paplay", "parec")


def missing_tools() -> list[str]:
    return [t for t in TOOLS if shutil.which(t) is None]


@contextmanager
def virtual_audio(room: bool = False) -> Iterator[dict[str, str]]:
    runtime = Path(tempfile.mkdtemp(prefix="vg-pulse-"))
    runtime.chmod(0o700)
    env = dict(os.environ)
    env.update(
        XDG_RUNTIME_DIR=str(runtime),
        PULSE_SERVER=f"unix:{runtime}/pulse/native",
        PULSE_COOKIE=str(runtime / "cookie"),
        HOME=str(runtime),
    )
    keepalive: list[subprocess.Popen[bytes]] = []
    try:
        subprocess.run(
            [
                "pulseaudio", "-n", "--daemonize=yes", "--exit-idle-time=-1", "--system=false",
                "-L", "module-native-protocol-unix auth-anonymous=1",
                # norewinds=1: otherwise an idle null sink runs at 2 s latency.
                "-L", "module-null-sink sink_name=vspeaker norewinds=1",
                "-L", "module-null-sink sink_name=vmic_in norewinds=1",
                "-L", "module-remap-source source_name=vmic master=vmic_in.monitor",
            ],
            env=env, check=True, capture_output=True, timeout=30,
        )  # fmt: skip
        for _ in range(200):
            if subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode == 0:
                break
            time.sleep(0.05)
        subprocess.run(["pactl", "set-default-sink", "vspeaker"], env=env, check=True)
        subprocess.run(["pactl", "set-default-source", "vmic"], env=env, check=True)
        for monitor in ("vspeaker.monitor", "vmic_in.monitor"):
            keepalive.append(
                subprocess.Popen(
                    ["parec", f"--device={monitor}"],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        if room:
            subprocess.run(
                ["pactl", "load-module", "module-loopback", "source=vspeaker.monitor",
                 "sink=vmic_in", "latency_msec=20"],
                env=env, check=True, capture_output=True,
            )  # fmt: skip
        yield env
    finally:
        for p in keepalive:
            p.kill()
            p.wait()
        pid_file = runtime / "pulse" / "pid"
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_file.read_text().strip()), 15)
        shutil.rmtree(runtime, ignore_errors=True)


def play_into_mic(env: dict[str, str], wav: Path) -> None:
    subprocess.run(["paplay", "--device=vmic_in", str(wav)], env=env, check=True, timeout=30)
