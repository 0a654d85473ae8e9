"""``voiceguide devices``: the microphones and speakers PortAudio can see."""

from __future__ import annotations

import argparse
import sys

from voiceguide.audio.devices import NoAudioDevice, list_devices


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "devices",
        help="list microphones and speakers (for --input-device / --output-device)",
        description="List audio devices. '>' marks the default input, '<' the default output. "
        "Pass an index or part of a name to --input-device or --output-device.",
    )
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    try:
        devices = list_devices()
    except NoAudioDevice as exc:
        print(f"voiceguide devices: {exc}", file=sys.stderr)
        return 1
    if not devices:
        print(
            "voiceguide devices: no audio device was found; try `voiceguide demo` or "
            "`voiceguide run --text`",
            file=sys.stderr,
        )
        return 1
    for d in devices:
        mark = (">" if d.default_input else " ") + ("<" if d.default_output else " ")
        print(
            f"{mark} {d.index:3d}  {d.name}  (in {d.inputs}, out {d.outputs}, "
            f"{d.default_rate:.0f} Hz)"
        )
    return 0
