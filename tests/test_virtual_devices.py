"""`voiceguide run` through real audio devices: PulseAudio virtual speaker and microphone.

The room loop is on, so everything the guide says also reaches its own microphone, as
in a real room. The simulated user's answers are synthesized with espeak-ng and played
into the microphone. Checked: the guide hears the answers and speaks the right next
prompt (in its captions and in the audio recorded off the speaker), never answers its
own voice, and a spoken "stop" over a count halts the count.
"""

from __future__ import annotations

import json
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

from tests.helpers import content
from tests.speechgen import speak
from tests.virtual_audio import missing_tools, play_into_mic, virtual_audio
from voiceguide.audio.files import to_mono16k
from voiceguide.content.models import REQUIRED_RED_FLAGS
from voiceguide.speech.synthesis import Synthesizer

pytestmark = [
    pytest.mark.skipif(
        bool(missing_tools()),
        reason=f"PulseAudio tools missing: {missing_tools()}; scripts/setup installs them",
    ),
]

#: A voice whose synthetic "no" the fused recognizer hears. Not en+f2 any more: with the
#: session-13 head its "no" (at this speed) reaches P(no) 0.94 at the median, under the
#: 0.98 needed, and a room draw of this test refused it twice in a row (session 14); decoded
#: as live in 30 room draws, en-us+f2's was accepted 29 times (median P(no) 0.999).
USER_VOICE = "en-us+f2"
ROOT = Path(__file__).resolve().parents[1]


def _shorten(path: Path, key: str, text: str) -> None:
    """Replace a prompt list ``key = [...]`` with one short sentence (keeps tests quick)."""
    body = path.read_text()
    new, n = re.subn(rf"(?ms)^{key} = \[.*?\]$", f'{key} = ["{text}"]', body, count=1)
    assert n == 1, key
    path.write_text(new)


@pytest.fixture
def short_content(tmp_path: Path) -> Path:
    """The real content, with only the required red-flag questions, and short talk before
    the first count."""
    root = tmp_path / "content"
    shutil.copytree(ROOT / "prompts", root / "prompts")
    shutil.copytree(ROOT / "grammars", root / "grammars")
    en = root / "prompts" / "en"
    screening = (en / "screening.toml").read_text()
    keep = len(REQUIRED_RED_FLAGS)  # fewer is refused at start-up (issue 8)
    cut = [m.start() for m in re.finditer(r"(?m)^\[\[questions\]\]", screening)][keep]
    (en / "screening.toml").write_text(screening[:cut])
    for key, text in {
        "welcome": "Hello.",
        "screening_intro": "Answer yes or no.",
        "cleared": "Good.",
        "safety_rule": "Say stop if it hurts.",
        "exercise_intro": "Next, {exercise}.",
    }.items():
        _shorten(en / "prompts.toml", key, text)
    _shorten(en / "exercises.toml", "setup", "Lie on your back.")
    return root


class Guide:
    """The running hands-free session: its captions, and when its speech will end."""

    def __init__(self, env: dict[str, str], content_dir: Path, log: Path) -> None:
        self.synth = Synthesizer(content().locale.tts_voice)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "voiceguide.cli", "run", "--seed", "3", "--log", str(log),
             "--content", str(content_dir), "--answer-timeout", "20"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
        )  # fmt: skip
        self.log = log
        self.lines: queue.Queue[tuple[float, str]] = queue.Queue()
        self.seen: list[str] = []
        self.speech_ends = time.monotonic()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put((time.monotonic(), line.rstrip("\n")))

    def expect(self, pattern: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"no line matching {pattern!r}; saw: {self.seen[-12:]}; log: {self.log_tail()}"
                )
            try:
                at, line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            self.seen.append(line)
            if line.startswith("guide: "):
                # The speaker plays captions in order; this one ends after its own length.
                seconds = self.synth.render(line[7:], content().locale.tts_voice, 1.0).seconds
                self.speech_ends = max(self.speech_ends, at) + seconds
            if re.search(pattern, line):
                return line

    def log_tail(self) -> list[str]:
        lines = self.log.read_text().splitlines() if self.log.exists() else []
        return [x for x in lines if '"type": "prompt"' not in x][-8:]

    def answer(self, text: str, env: dict[str, str], tmp: Path) -> None:
        time.sleep(max(0.0, self.speech_ends - time.monotonic()) + 1.2)
        wav = tmp / "answer.wav"
        soundfile.write(wav, speak(text, USER_VOICE), 16_000)
        play_into_mic(env, wav)

    def close(self) -> str:
        if self.proc.poll() is None:
            self.proc.terminate()
        _, err = self.proc.communicate(timeout=20)
        return err


def _best_correlation(recording: np.ndarray, reference: np.ndarray) -> float:
    """Peak normalized cross-correlation of ``reference`` inside ``recording``."""
    rec = recording.astype(np.float64)
    ref = reference.astype(np.float64)
    n = len(rec) + len(ref)
    size = 1 << (n - 1).bit_length()
    xc = np.fft.irfft(np.fft.rfft(rec, size) * np.conj(np.fft.rfft(ref, size)), size)
    # Energy of each window of len(ref) samples (a running sum: a direct convolution of a
    # minutes-long recording took minutes).
    sums = np.concatenate([[0.0], np.cumsum(rec**2)])
    k = np.arange(len(rec) + len(ref) - 1)
    windowed = sums[np.minimum(k + 1, len(rec))] - sums[np.maximum(0, k - len(ref) + 1)]
    energy = np.sqrt(np.maximum(windowed, 0.0))
    energy = np.concatenate([energy[len(ref) - 1 :], np.zeros(size)])[:size]
    return float(np.max(xc[: len(rec)] / (energy[: len(rec)] * np.linalg.norm(ref) + 1e-9)))


def test_hands_free_session_in_a_virtual_room(short_content: Path, tmp_path: Path) -> None:
    log = tmp_path / "session.jsonl"
    recording = tmp_path / "speaker.wav"
    questions = content().screening.questions
    with virtual_audio(room=True) as env:
        recorder = subprocess.Popen(
            ["parecord", "--device=vspeaker.monitor", "--file-format=wav", str(recording)],
            env=env,
        )
        guide = Guide(env, short_content, log)
        try:
            guide.expect(r"^voiceguide run: listening")
            line = guide.expect("|".join(re.escape(a) for a in questions[0].ask))
            asked: list[str] = []
            for q in questions[: len(REQUIRED_RED_FLAGS)]:
                assert any(line[7:] == a for a in q.ask), (line, guide.log_tail())
                asked.append(line)
                heard = len(guide.seen)
                guide.answer("no", env, tmp_path)
                line = guide.expect(r"^guide: ")
                since = [s for s in guide.seen[heard:] if s.startswith("heard: ")]
                if any(line[7:] == a for a in q.rephrase) and all(
                    s.startswith("heard: [not understood") for s in since
                ):
                    # Nothing heard, or only a rejection (both unclear, the safe outcome):
                    # in about 1 of 10 runs a sound played into the virtual microphone
                    # never reached it, and espeak-ng's "no" is refused now and then (the
                    # answer model that verifies it was tuned on real voices). The
                    # dialogue asks again, so say it again; anything misheard as another
                    # answer still fails the check of everything heard below.
                    guide.answer("no", env, tmp_path)
                    line = guide.expect(r"^guide: ")
            assert re.match(r"^guide: Good\.", line), (line, guide.log_tail())
            # After the setup the guide waits for the user to be in position.
            guide.expect(r"^guide: Say ready", timeout=30)
            guide.answer("ready", env, tmp_path)
            guide.expect(r"^heard: ready ", timeout=10)
            guide.expect(r"^guide: two$", timeout=60)
            # "stop now" right over the counting, while the guide is still speaking. (A bare
            # "stop" in espeak-ng's voice is decoded poorly by PocketSphinx; see issue notes.)
            wav = tmp_path / "stop.wav"
            soundfile.write(wav, speak("stop now", USER_VOICE), 16_000)
            before = sum(s.startswith("heard: ") for s in guide.seen)
            play_into_mic(env, wav)
            try:
                heard = guide.expect(r"^heard: stop now ", timeout=10)
            except AssertionError:
                # As with the answers above: only if nothing at all was heard (the sound
                # may never have reached the virtual microphone, or the over-speech decode
                # missed it; its recall is below 1, see BENCHMARKS "bench echo"), once more.
                if sum(s.startswith("heard: ") for s in guide.seen) != before:
                    raise
                play_into_mic(env, wav)
                heard = guide.expect(r"^heard: stop now ", timeout=10)
            halted_at = time.monotonic()
            # A cue already due at that very moment may still be captioned first, but no
            # count, and the pain check follows at once.
            # "Stop" halts at once and offers to resume or finish.
            pain = guide.expect(r"^guide: Stopped\.", timeout=10)
            between = guide.seen[guide.seen.index(heard) + 1 : guide.seen.index(pain)]
            assert len(between) <= 1, between
            assert not [s for s in between if re.fullmatch(r"guide: (one|two|three|four)", s)]
            time.sleep(3)
            while not guide.lines.empty():
                guide.seen.append(guide.lines.get()[1])
            after = guide.seen[guide.seen.index(pain) + 1 :]
            assert not [s for s in after if re.fullmatch(r"guide: (one|two|three|four)", s)]
            assert time.monotonic() - halted_at >= 3
        finally:
            err = guide.close()
            recorder.terminate()
            recorder.wait(timeout=10)
    assert "Traceback" not in err, err
    events = [json.loads(line) for line in log.read_text().splitlines()]
    heard = [e for e in events if e["type"] == "heard"]
    # Exactly what the user said; nothing the guide said was taken as an answer.
    answers = ["no"] * len(REQUIRED_RED_FLAGS)
    assert [h["intent"] for h in heard] == [*answers, "resume", "stop"], heard
    stats = [e for e in events if e["type"] == "voice_stats"]
    assert stats and stats[-1]["barge_ins"] >= 1
    assert stats[-1]["self_rejected"] >= 1, "the room loop never reached the microphone"
    # The second question is really in the speaker's audio, not only in the captions.
    spoken = to_mono16k(*soundfile.read(recording, dtype="int16"))
    prompt = next(e["text"] for e in events if e["type"] == "prompt" and e["text"] == asked[1][7:])
    pcm = Synthesizer(content().locale.tts_voice).render(prompt)
    assert _best_correlation(spoken, to_mono16k(pcm.samples, pcm.sample_rate)) > 0.8
