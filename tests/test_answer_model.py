"""The answer model: it loads, hears generated speech sensibly, and a missing or damaged
model falls back to PocketSphinx's own rejection, never to accepting more.

Speech is generated with espeak-ng in voices the model never heard in training (the
held-out list in scripts/train_answer_model.py).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.helpers import fused_recognizer
from tests.speechgen import speak
from voiceguide.content import load_grammars
from voiceguide.dialogue.intents import Intent
from voiceguide.speech import embedding_engine
from voiceguide.speech.answer_model import (
    CLASSES,
    HEAD_DIR,
    MAX_MEMBERS,
    TOP_CHECK_TOLERANCE,
    AnswerModel,
    AnswerModelUnavailable,
    load_head,
    top_arrays,
    top_check_audio,
)
from voiceguide.speech.embedding_engine import (
    TOP,
    EmbeddingUnavailable,
    SpeechEmbedding,
    check_files,
)
from voiceguide.speech.fused import FusedRecognizer
from voiceguide.speech.pocketsphinx_engine import PocketSphinxRecognizer
from voiceguide.speech.recognizer import Recognition
from voiceguide.speech.select import make_recognizer

# Held-out voices: never used to train the head.
VOICES = [
    ("en-us-nyc+Annie", 175, 52),
    ("en-gb-x-gbcwmd+m5", 125, 22),
    ("en-us-nyc+john", 175, 82),
    ("en-gb-x-gbcwmd+f4", 175, 52),
]
#: Voices of the kind used in training (espeak-ng's defaults), for the fused checks.
SEEN_VOICES = [("en-us", 150, 50), ("en-gb-x-rp", 160, 50), ("en-us+m3", 160, 50)]
#: The virtual room test's user. espeak-ng's "no" is the model's weak spot: since it was
#: trained on what the endpointer cuts (session 6), en-us+f2's "no" reaches P(no) 0.82,
#: under the 0.9 needed beside PocketSphinx's accepted "no"; the British base voice with
#: the same variant is heard (BENCHMARKS.md, "Synthetic voices").
DEMO_VOICE = ("en+f2", 175, 50)
POOL_DEV = Path(__file__).resolve().parents[2] / "shared/data/speech_commands_pool/dev"


@pytest.fixture(scope="module")
def model() -> AnswerModel:
    return AnswerModel()


def best_class(model: AnswerModel, text: str, voice: tuple[str, int, int]) -> tuple[str, float]:
    p = model.scores(speak(text, *voice)).segments.max(axis=0)
    return CLASSES[int(p.argmax())], float(p.max())


def test_the_head_is_small_and_loads_with_its_thresholds() -> None:
    assert (HEAD_DIR / "head.npz").stat().st_size < 2_000_000
    head = load_head()
    assert head.classes == CLASSES
    for key in ("no", "yes", "emergency", "yes_doubt", "no_needs"):
        assert key in head.thresholds
    assert 0.5 <= head.thresholds["no"] < 1.0
    assert (HEAD_DIR / "MODEL_CARD.md").read_text().count("Warden 2018, CC BY 4.0") >= 1


@pytest.mark.parametrize(
    ("text", "want"),
    [("yes", "yes"), ("no", "no"), ("help", "emergency"), ("help me", "emergency"),
     ("i fell", "emergency"), ("i can't move", "emergency"), ("house", "other"),
     ("table", "other")],
)  # fmt: skip
def test_generated_speech_in_unseen_voices(model: AnswerModel, text: str, want: str) -> None:
    """Sensible on voices it never heard: the right class wins for at least half of
    them, and an answer is never heard as its opposite."""
    got = [best_class(model, text, v)[0] for v in VOICES]
    assert got.count(want) >= 2, f"{text!r} heard as {got}"
    opposite = {"yes": "no", "no": "yes", "emergency": "no"}.get(want)
    assert opposite not in got, f"{text!r} heard as {got}"


def test_silence_and_noise_are_silence(model: AnswerModel) -> None:
    rng = np.random.default_rng(0)
    for level in (30.0, 300.0, 1000.0):
        noise = (rng.normal(0, level, 16000)).astype(np.int16)
        assert best_class_of(model, noise) == "silence"


def best_class_of(model: AnswerModel, samples: np.ndarray) -> str:
    return CLASSES[int(model.scores(samples).segments.max(axis=0).argmax())]


def test_long_utterances_are_scanned(model: AnswerModel) -> None:
    """Longer than a segment: scanned, and a call for help inside is found."""
    audio = speak("well I am not sure what happened but i fell", "en-us", 150, 50)
    assert len(model.scores(audio).segments) > 3
    assert model.scores(audio).best("emergency") >= model.thresholds["emergency"]


@pytest.fixture(scope="module")
def fused() -> FusedRecognizer:
    return fused_recognizer()


def test_fused_is_fused_for_english() -> None:
    assert isinstance(make_recognizer("fused", load_grammars("en")), FusedRecognizer)


def test_fused_answers_and_rejections(fused: FusedRecognizer) -> None:
    heard = {
        text: [fused.recognize(speak(text, *v), "yes_no") for v in VOICES + SEEN_VOICES]
        for text in ("yes", "no", "help me", "i fell")
    }
    assert sum(r.intent is Intent.YES for r in heard["yes"]) >= 4
    # Synthetic "no" is the model's weak spot (real voices are what it is tuned on); the
    # demo's user voice must get through.
    assert fused.recognize(speak("no", *DEMO_VOICE), "yes_no").intent is Intent.NO
    assert not any(r.intent is Intent.YES for r in heard["no"])
    assert not any(r.intent is Intent.NO for r in heard["yes"])
    # Emergency phrases are heard during a question too (yes_no), not only "help".
    assert sum(r.intent is Intent.EMERGENCY for r in heard["help me"]) >= 4
    assert sum(r.intent is Intent.EMERGENCY for r in heard["i fell"]) >= 5


HOMOPHONES = ["go", "oh", "so", "low", "toe", "snow", "house", "table"]
#: espeak-ng's "snow" in this voice is "no" to both engines (PocketSphinx alone accepts
#: it as "no" too); kept as a known failure so that a fix shows up.
KNOWN_UNSAFE = {("snow", "en-us-nyc+Annie")}


@pytest.mark.parametrize("text", HOMOPHONES)
def test_words_like_no_are_not_no(fused: FusedRecognizer, text: str) -> None:
    for voice in VOICES + SEEN_VOICES:
        if (text, voice[0]) not in KNOWN_UNSAFE:
            got = fused.recognize(speak(text, *voice), "yes_no")
            assert got.intent is not Intent.NO, voice


@pytest.mark.xfail(strict=True, reason="synthetic 'snow' in en-us-nyc+Annie sounds like 'no'")
def test_known_unsafe_synthetic_snow(fused: FusedRecognizer) -> None:
    assert fused.recognize(speak("snow", *VOICES[0]), "yes_no").intent is not Intent.NO


def test_emergency_in_coaching(fused: FusedRecognizer) -> None:
    got = [fused.recognize(speak("i can't move", *v), "coaching").intent for v in VOICES]
    assert got.count(Intent.EMERGENCY) >= 3


def test_silence_stays_silence(fused: FusedRecognizer) -> None:
    r = fused.recognize(np.zeros(16000, dtype=np.int16), "yes_no")
    assert not r.accepted and r.reason == "silence"


# ------------------------------------------------------------------ damaged or missing


def damaged_copy(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / "models"
    shutil.copytree(embedding_engine.model_folder(), folder)
    path = folder / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = bytes(64)
    path.write_bytes(bytes(data))
    return folder


@pytest.mark.parametrize("name", ["melspectrogram.onnx", "embedding_model.onnx"])
def test_a_damaged_embedding_file_is_refused(tmp_path: Path, name: str) -> None:
    folder = damaged_copy(tmp_path, name)
    with pytest.raises(EmbeddingUnavailable, match="damaged"):
        check_files(folder)


def test_a_missing_embedding_file_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "models"
    shutil.copytree(embedding_engine.model_folder(), folder)
    (folder / "embedding_model.onnx").unlink()
    with pytest.raises(EmbeddingUnavailable, match="cannot read"):
        check_files(folder)


@pytest.mark.parametrize("damage", ["truncate", "flip", "missing", "json"])
def test_a_damaged_head_is_refused(tmp_path: Path, damage: str) -> None:
    folder = tmp_path / "head"
    shutil.copytree(HEAD_DIR, folder)
    npz = folder / "head.npz"
    if damage == "truncate":
        npz.write_bytes(npz.read_bytes()[:100])
    elif damage == "flip":
        data = bytearray(npz.read_bytes())
        data[-200] ^= 0xFF
        npz.write_bytes(bytes(data))
    elif damage == "missing":
        npz.unlink()
    else:
        (folder / "head.json").write_text("{not json")
    with pytest.raises(AnswerModelUnavailable):
        AnswerModel(folder)


def rewritten_head(tmp_path: Path, change_arrays: object = None, **meta_changes: object) -> Path:
    """A copy of the head with its arrays or JSON changed and its hash made to match, so
    that only the loader's own checks can refuse it."""
    import hashlib
    import io
    import json

    folder = tmp_path / "head"
    shutil.copytree(HEAD_DIR, folder)
    with np.load(folder / "head.npz") as z:
        arrays = dict(z)
    if callable(change_arrays):
        change_arrays(arrays)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    (folder / "head.npz").write_bytes(buf.getvalue())
    meta = json.loads((folder / "head.json").read_text())
    meta.update(meta_changes, npz_sha256=hashlib.sha256(buf.getvalue()).hexdigest())
    (folder / "head.json").write_text(json.dumps(meta))
    return folder


def test_a_rewritten_but_unchanged_head_loads(tmp_path: Path) -> None:
    """The helper below changes only what each case says (so the refusals are the
    loader's checks, not the rewrite)."""
    head = load_head(rewritten_head(tmp_path))
    x = np.random.default_rng(0).normal(size=(3, head.members[0].mean.shape[0]))
    assert np.allclose(head.probabilities(x), load_head().probabilities(x))


def _nan_weight(a: dict[str, np.ndarray]) -> None:
    a["e0_b0"] = a["e0_b0"].astype(np.float32)
    a["e0_b0"][0] = np.nan


def _unchained(a: dict[str, np.ndarray]) -> None:
    a["e1_w1"] = a["e1_w1"][:-1]


def _too_many_emergency_members(a: dict[str, np.ndarray]) -> None:
    # Whole members, each loadable: only the count says the file is not a head.
    for k in range(MAX_MEMBERS + 1):
        a.update({n.replace("e0_", f"e{k}_", 1): v for n, v in list(a.items()) if n[:3] == "e0_"})


@pytest.mark.parametrize(
    ("change", "meta", "why"),
    [
        (None, {"temperatures": [1.0] * 6}, "malformed"),  # a member more than stored
        (None, {"emergency_temperatures": [1.0] * 6}, "malformed"),
        (None, {"temperatures": []}, "malformed"),
        (None, {"emergency_temperatures": [1.0, 1.0, 1.0, 1.0, 0.0]}, "temperature"),
        (_nan_weight, {}, "non-finite"),
        (_unchained, {}, "malformed"),
        (
            _too_many_emergency_members,
            {"emergency_temperatures": [1.0] * (MAX_MEMBERS + 1)},
            f"1 \\+ {MAX_MEMBERS + 1} members",
        ),
        (None, {"classes": ["yes", "no", "other", "emergency", "silence"]}, "does not fit"),
    ],
)
def test_a_head_with_a_matching_hash_but_bad_content_is_refused(
    tmp_path: Path, change: object, meta: dict[str, object], why: str
) -> None:
    with pytest.raises(AnswerModelUnavailable, match=why):
        load_head(rewritten_head(tmp_path, change, **meta))


def test_the_head_brings_its_own_upper_layers_and_they_are_in_effect(model: AnswerModel) -> None:
    """The shipped head was fitted over the embedding with its own trained upper layers:
    loaded, they give the recorded embeddings of the check noise, and the package's own
    layers give other ones, far outside the tolerance (so the check can tell them apart)."""
    head = load_head()
    assert set(head.top) == {name for pair in TOP for name in pair if name}
    assert head.top_check is not None
    noise = top_check_audio()
    ours = model.embedding.embed(noise)
    assert np.abs(ours - head.top_check).max() <= TOP_CHECK_TOLERANCE
    package = SpeechEmbedding().embed(noise)
    assert np.abs(package - head.top_check).max() > 20 * TOP_CHECK_TOLERANCE


#: The shapes of the nine convolutions of ``embedding_engine.TOP`` (out, in, height, width).
TOP_SHAPES = [(96, 72, 1, 3), *[(96, 96, 3, 1) if k % 2 else (96, 96, 1, 3) for k in range(1, 8)],
              (96, 96, 3, 1)]  # fmt: skip


def _own_layers(a: dict[str, np.ndarray], scale: float = 0.1) -> None:
    """Upper layers of a head's own (random, seeded), with the check they give."""
    rng = np.random.default_rng(7)
    named = {}
    for i, ((weight, bias), shape) in enumerate(zip(TOP, TOP_SHAPES, strict=True)):
        a[f"t{i}_w"] = rng.normal(0.0, scale, shape).astype(np.float16)
        named[weight] = a[f"t{i}_w"].astype(np.float32)
        if bias is not None:
            a[f"t{i}_b"] = rng.normal(0.0, scale, 96).astype(np.float16)
            named[bias] = a[f"t{i}_b"].astype(np.float32)
    a["top_check"] = SpeechEmbedding(top=named).embed(top_check_audio())


def test_a_head_with_its_own_upper_layers_runs_them(tmp_path: Path) -> None:
    """The layers a head brings replace the package's when it loads: its embedding is the
    one they give, not the package's."""
    model = AnswerModel(rewritten_head(tmp_path, _own_layers))
    noise = top_check_audio()
    assert model.head.top_check is not None
    ours = model.embedding.embed(noise)
    assert np.abs(ours - model.head.top_check).max() <= TOP_CHECK_TOLERANCE
    assert np.abs(ours - SpeechEmbedding().embed(noise)).max() > 20 * TOP_CHECK_TOLERANCE


def _wrong_check(a: dict[str, np.ndarray]) -> None:
    _own_layers(a)
    a["top_check"] = a["top_check"] + 1.0


def _wrong_shape(a: dict[str, np.ndarray]) -> None:
    _own_layers(a)
    a["t3_w"] = a["t3_w"][:48]  # 48 channels out, where the next layer takes 96


def _other_layers(a: dict[str, np.ndarray]) -> None:
    """Runnable layers, but not the ones the head was trained over."""
    _own_layers(a)
    a["t8_w"] = (a["t8_w"].astype(np.float32) * 0.5).astype(np.float16)


def _nan_layer(a: dict[str, np.ndarray]) -> None:
    _own_layers(a)
    a["t4_b"] = a["t4_b"].astype(np.float32)
    a["t4_b"][3] = np.inf


def _no_check(a: dict[str, np.ndarray]) -> None:
    _own_layers(a)
    del a["top_check"]


def _one_layer_short(a: dict[str, np.ndarray]) -> None:
    _own_layers(a)
    del a["t8_w"]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (_wrong_check, "does not give what the head was trained over"),
        (_other_layers, "does not give what the head was trained over"),
        (_wrong_shape, "cannot run"),
        (_no_check, "without their check"),
        (_nan_layer, "non-finite"),
        (_one_layer_short, "missing"),
    ],
)
def test_a_head_whose_upper_layers_are_not_in_effect_is_refused(
    tmp_path: Path, change: object, why: str
) -> None:
    """Else the head would classify embeddings it was never trained on."""
    with pytest.raises(AnswerModelUnavailable, match=why):
        AnswerModel(rewritten_head(tmp_path, change))


def test_the_head_averages_its_members() -> None:
    """Every class but "emergency" is the members' average; "emergency" is the emergency
    members' average alone."""
    head = load_head()
    assert len(head.members) >= 1 and len(head.emergency_members) >= 2
    x = np.random.default_rng(1).normal(size=(4, head.members[0].mean.shape[0]))
    each = [m.probabilities(x) for m in head.members]
    em = np.mean([m.probabilities(x) for m in head.emergency_members], axis=0)
    got = head.probabilities(x)
    i = CLASSES.index("emergency")
    rest = [c for c in range(len(CLASSES)) if c != i]
    assert np.allclose(got[:, rest], np.mean(each, axis=0)[:, rest], atol=1e-6)
    assert np.allclose(got[:, i], em[:, i], atol=1e-6)
    ems = [m.probabilities(x) for m in head.emergency_members]
    assert not np.allclose(ems[0], ems[1])  # the members differ: different seeds


@pytest.fixture
def broken_embedding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = damaged_copy(tmp_path, "embedding_model.onnx")
    monkeypatch.setattr(embedding_engine, "model_folder", lambda: folder)


@pytest.mark.usefixtures("broken_embedding")
def test_a_broken_model_falls_back_to_pocketsphinx_rejection() -> None:
    grammars = load_grammars("en")
    for engine in ("auto", "fused"):
        recognizer = make_recognizer(engine, grammars)
        assert isinstance(recognizer, PocketSphinxRecognizer), engine
    plain = PocketSphinxRecognizer(grammars)
    fallback = make_recognizer("auto", grammars)
    for text in ("no", "go", "yes"):
        audio = speak(text, "en-us", 150, 50)
        a, b = plain.recognize(audio, "yes_no"), fallback.recognize(audio, "yes_no")
        assert (a.accepted, a.intent, a.reason) == (b.accepted, b.intent, b.reason)


@pytest.mark.usefixtures("broken_embedding")
def test_check_reports_a_broken_model() -> None:
    from voiceguide.commands.check import Found, _answer_model

    line = _answer_model(argparse.Namespace(lang="en"), Found())
    assert line.status == "FAIL"
    assert "damaged" in line.detail and "falls back" in line.detail
    assert line.fix


def test_check_passes_with_the_model() -> None:
    from voiceguide.commands.check import Found, _answer_model

    assert _answer_model(argparse.Namespace(lang="en"), Found()).status == "PASS"


# ------------------------------------------------------------------ real voices (../shared)


@pytest.mark.skipif(
    not POOL_DEV.is_dir(),
    reason=f"real-voice check needs {POOL_DEV} (the team's Speech Commands pool), absent here",
)
def test_real_voices_from_dev(fused: FusedRecognizer) -> None:
    from voiceguide.audio.files import load_audio

    def clips(word: str, n: int) -> list[np.ndarray]:
        return [load_audio(p) for p in sorted((POOL_DEV / word).glob("*.flac"))[:n]]

    yes = [fused.recognize(c, "yes_no").intent for c in clips("yes", 30)]
    no = [fused.recognize(c, "yes_no").intent for c in clips("no", 30)]
    other = [
        fused.recognize(c, "yes_no").intent for w in ("up", "down", "stop") for c in clips(w, 20)
    ]
    assert yes.count(Intent.YES) >= 25, yes
    assert no.count(Intent.NO) >= 12, no
    assert Intent.NO not in other


class FakeVosk:
    """Stands in for Vosk's English model, which cannot be downloaded here: it accepts
    "no" for everything, confidently."""

    name = "vosk"
    language = "en"

    def recognize(
        self, samples: np.ndarray, grammar: str, speaking: frozenset[str] = frozenset()
    ) -> Recognition:
        return Recognition("no", Intent.NO, 0.99, True, engine="vosk")


def test_auto_verifies_vosk_with_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a Vosk English model installed, ``fused`` is Vosk verified by the answer model:
    Vosk's "no" counts only when the model hears "no" too."""
    from voiceguide.speech import model_store, select

    monkeypatch.setattr(model_store, "find_installed_model", lambda lang: Path("/x"))
    monkeypatch.setattr(select, "_grammar_engine", lambda engine, *a: FakeVosk())
    recognizer = make_recognizer("fused", load_grammars("en"))
    assert isinstance(recognizer, FusedRecognizer) and recognizer.engine.name == "vosk"
    for voice in VOICES + SEEN_VOICES:
        for text in ("house", "table", "yes"):
            got = recognizer.recognize(speak(text, *voice), "yes_no")
            assert got.intent is not Intent.NO, (text, voice)
    assert recognizer.recognize(speak("no", *DEMO_VOICE), "yes_no").intent is Intent.NO


# ------------------------------------------------------------------ the runtime, in a room


def test_fused_hears_a_synthetic_user_in_the_simulated_room(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What the fused recognizer makes of the hands-free screening in the in-memory room
    of ``voiceguide demo``: the user's "no" then "yes", through the real endpointer,
    echo rule and recognizer. espeak-ng's "no" in this voice (the room test's) once
    reached the model at P(no) 0.41 here, so a healthy synthetic user could not get
    through. (Not every synthetic voice's first "no" is heard: BENCHMARKS.md.)"""
    import tests.test_memory_transport as room
    from tests.helpers import content

    c = content()
    runtime = make_recognizer(
        "fused", c.grammars, frozenset(c.spoken_words()), frozenset(c.prompts.count_words)
    )
    assert isinstance(runtime, FusedRecognizer)
    monkeypatch.setattr(room, "recognizer", lambda: runtime)
    monkeypatch.setattr(room, "USER", "en-us+f2")
    r = room._room(room._answers(["no", "yes"]))
    r.run()
    heard = [e.intent for _, e in room._heard(r) if isinstance(e, room.Heard)]
    assert heard == [Intent.NO, Intent.YES], room._heard(r)
    assert room._advice_given(r)


def test_the_recognizer_is_named_as_it_will_listen_before_it_has_loaded() -> None:
    """`run` prints "listening with ..." at once, while the model still loads."""
    from voiceguide.speech.select import AUTO_FUSES, load_in_background, other_engine

    grammars = load_grammars("en")
    fused = load_in_background("fused", grammars)
    assert fused.name == "pocketsphinx + answer model"
    assert fused.ready(120).name == fused.name
    auto = load_in_background("auto", grammars)
    assert auto.name == ("pocketsphinx + answer model" if AUTO_FUSES else "pocketsphinx")
    assert other_engine(fused.name) == "vosk"
    assert other_engine("vosk + answer model") == other_engine("vosk") == "pocketsphinx"


def _training_script() -> Any:
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location(
        "train_answer_model", HEAD_DIR.parents[2] / "scripts/train_answer_model.py"
    )
    assert spec is not None and spec.loader is not None
    train = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = train  # its dataclasses look their module up there
    spec.loader.exec_module(train)
    return train


def test_the_training_script_records_what_decides_the_heads_bytes() -> None:
    # A fresh install wrote another head than the shipped one from the same data and seed
    # (BENCHMARKS.md, session 12): the versions it was made with go into head.json.
    from importlib.metadata import version

    env = _training_script().training_environment()
    for name in ("numpy", "scipy", "scikit-learn", "onnxruntime"):
        assert env[name] == version(name), name
    assert env["python"].count(".") == 2 and env["machine"]
    assert env["espeak-ng"][:1].isdigit(), env["espeak-ng"]  # as `espeak-ng --version` says
    assert env["cpu"]  # "unknown" where the system does not say


def test_kept_answers_are_the_heads_own_members_in_either_format(tmp_path: Path) -> None:
    # `train_answer_model.py --keep-answers` is how the shipped head was made: it must hand
    # back the answer members unchanged, from this head or from a single head of sessions
    # 5-7 (bare ``w0``..., one ``temperature``), and refuse a head whose hash is wrong.
    import hashlib
    import json

    train = _training_script()
    meta = json.loads((HEAD_DIR / "head.json").read_text())
    # A head's answer members were fitted over its upper layers: kept only with those.
    layered = rewritten_head(tmp_path / "layered", _own_layers)
    with pytest.raises(SystemExit, match="other upper layers"):
        train.kept_answers(layered)  # this run's layers: the package's own
    train.KEEP_TOP.update({k: v.astype(np.float16) for k, v in load_head(layered).top.items()})
    assert train.kept_answers(layered)[1] == meta["temperatures"]
    train.KEEP_TOP.clear()
    train.KEEP_TOP.update({k: v.astype(np.float16) for k, v in load_head().top.items()})
    arrays, temps, kept = train.kept_answers(HEAD_DIR)
    with np.load(HEAD_DIR / "head.npz") as z:
        own = {k: z[k] for k in z.files if k.startswith("m")}
    assert arrays.keys() == own.keys() and all(np.array_equal(arrays[k], own[k]) for k in own)
    assert temps == meta["temperatures"] and kept["thresholds"] == meta["thresholds"]

    single = tmp_path / "single"
    single.mkdir()
    np.savez(single / "head.npz", **{k[len("m0_") :]: v for k, v in own.items() if "m0_" in k})
    blob = (single / "head.npz").read_bytes()
    old = {
        "temperature": temps[0],
        "thresholds": meta["thresholds"],
        "trained": "2026-11-20",
        "seed": 3,
        "fit": {},
        "npz_sha256": hashlib.sha256(blob).hexdigest(),
    }
    (single / "head.json").write_text(json.dumps(old))
    train.KEEP_TOP.clear()  # a head of those sessions sat on the package's own layers
    arrays1, temps1, kept1 = train.kept_answers(single)
    m0 = {k: v for k, v in own.items() if k.startswith("m0_")}
    assert arrays1.keys() == m0.keys() and all(np.array_equal(arrays1[k], m0[k]) for k in m0)
    assert temps1 == [temps[0]] and kept1["origin"]["seed"] == 3

    (single / "head.npz").write_bytes(blob[:-1] + bytes([blob[-1] ^ 1]))
    with pytest.raises(SystemExit, match="does not match its hash"):
        train.kept_answers(single)


def test_the_upper_layers_go_from_the_tuning_script_to_the_runtime_by_name(
    tmp_path: Path,
) -> None:
    """``tune_embedding_top.py --write`` names the layers as the ONNX file does; the
    training script stores them in ``head.npz`` as ``t0_w``...; the runtime reads them back
    under the ONNX names. A file with other names is refused at each end."""
    train = _training_script()
    own: dict[str, np.ndarray] = {}
    _own_layers(own)
    named = top_arrays(own)  # as the runtime reads a head: by the ONNX names
    written = tmp_path / "top.npz"
    np.savez(written, **{k: v.astype(np.float16) for k, v in named.items()})
    top = train.load_top(written)
    stored = train.stored_top(top)
    assert sorted(stored) == sorted(
        [f"t{i}_w" for i in range(len(TOP))] + [f"t{i}_b" for i, (_, b) in enumerate(TOP) if b]
    )
    back = top_arrays(stored)
    assert back.keys() == named.keys()
    assert all(np.array_equal(back[k], named[k]) for k in back)

    renamed = tmp_path / "renamed.npz"
    np.savez(renamed, **{k.replace("conv2d", "conv"): v for k, v in top.items()})
    with pytest.raises(SystemExit, match="does not hold the embedding's upper layers"):
        train.load_top(renamed)
    with pytest.raises(EmbeddingUnavailable, match="no such weights"):
        SpeechEmbedding(top={"model/dense/MatMul": np.zeros((2, 2), np.float32)})


def test_the_tuning_script_writes_one_tuned_model_or_says_why_not(tmp_path: Path) -> None:
    """``--write`` takes one trained form: two modes, or the untrained ``frozen``, are
    refused before anything is loaded (torch is not needed to be told so)."""
    import subprocess
    import sys

    script = HEAD_DIR.parents[2] / "scripts/tune_embedding_top.py"
    for modes in (["--mode", "tuned", "--mode", "own"], ["--mode", "frozen"]):
        done = subprocess.run(
            [
                sys.executable,
                str(script),
                "--work",
                str(tmp_path),
                *modes,
                "--write",
                str(tmp_path / "x.npz"),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 2, done.stderr
        assert "--write needs one --mode (tuned or own)" in done.stderr
    assert not (tmp_path / "x.npz").exists()


def test_the_yes_threshold_takes_no_real_no_for_yes() -> None:
    """A healthy user's "no" taken for "yes" ends the screening on the emergency route at
    once; a "yes" left unclear is only asked again. So the training script's "yes"
    threshold is the loosest that takes no more real "no"s for "yes" than the engine's own
    "yes" alone would, even where a looser one keeps every other figure, in dev's rooms
    and in the extra rooms its real "no"s are said in again."""
    from voiceguide.speech.fusion import EngineNo, ModelEvidence, Thresholds

    train = _training_script()
    nothing = Recognition(text="", intent=None, score=0.0, accepted=False, reason="low_score")
    said_no = Recognition(text="no", intent=Intent.NO, score=1.0, accepted=True)

    def clip(word: str, *pieces: tuple[float, float, Recognition]) -> Any:
        cut = [
            train.Piece(ModelEvidence(yes=y, no=n, emergency=0.0), base, i < len(pieces) - 1)
            for i, (y, n, base) in enumerate(pieces)
        ]
        return train.Clip(word, cut)

    def dev(breath_yes: float, in_another_room: float = 0.0) -> dict[str, list[Any]]:
        clips = [clip("yes", (0.95, 0.0, nothing)) for _ in range(20)]
        clips += [clip("no", (0.0, 0.99, said_no)) for _ in range(10)]
        clips += [clip("left", (0.1, 0.0, nothing)) for _ in range(40)]
        # A breath before the word, which the model takes for "yes" at ``breath_yes``.
        clips.append(clip("no", (breath_yes, 0.01, nothing), (0.0, 0.99, said_no)))
        # The same "no"s said in more rooms: in one, a sound the model takes for "yes".
        rooms = [clip("no", (0.0, 0.99, said_no)) for _ in range(10)]
        rooms.append(clip("no", (in_another_room, 0.01, nothing), (0.0, 0.99, said_no)))
        return {"clean": clips, "snr10": clips, "no_rooms": rooms}

    chosen = Thresholds(0.98, 0.99, 0.999, 0.3, EngineNo.OTHER_WORD, 0.98, 0.98)
    phrases = {"no": Intent.NO, "yes": Intent.YES}
    picked, table = train.pick_yes(dev(0.65), chosen, phrases)
    assert picked == 0.7, table  # 0.6 and under take the breath before a "no" for "yes"
    assert train.pick_yes(dev(0.05), chosen, phrases)[0] == 0.3  # no such breath: loosest
    # Heard in none of dev's own rooms, but in one of the extra rooms: still counted.
    assert train.pick_yes(dev(0.05, in_another_room=0.85), chosen, phrases)[0] == 0.9
    assert any(line.startswith("| 0.6 |") and "| 1 | 1 |" in line for line in table), table


def test_what_made_the_upper_layers_goes_into_the_heads_record(tmp_path: Path) -> None:
    """``tune_embedding_top.py --write FILE`` records its arguments and the versions that
    decide the layers' bytes (torch first) beside FILE; the training script carries them
    into head.json, and says "not recorded" for a file the record does not belong to."""
    train = _training_script()
    top = tmp_path / "top.npz"
    np.savez(top, a=np.arange(4, dtype=np.float16))
    assert "not recorded" in str(train.top_record(top)["made_with"])  # written before
    env = train.training_environment(("numpy", "no-such-package"))
    assert env["no-such-package"] == "not installed" and env["numpy"] == np.__version__
    train.write_top_record(top, ["--data", "head", "--seed", "0"], env)
    record = train.top_record(top)
    assert record["made_with"] == env and "--data head --seed 0" in str(record["made_by"])
    np.savez(top, a=np.arange(5, dtype=np.float16))  # the layers changed, the record did not
    changed = train.top_record(top)
    assert (
        "not recorded" in str(changed["made_with"])
        and changed["file_sha256"] != record["file_sha256"]
    )
