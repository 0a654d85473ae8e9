"""The answer model: yes / no / emergency / other / silence from a pretrained speech
embedding and a small trained head (``voiceguide/speech/answer_head/``).

An utterance is cut into segments of ``SEGMENT_SAMPLES`` (1.19 s, six embedding steps);
one short enough is centred in a single segment, a longer one is scanned with segments
every 160 ms. Each segment gets calibrated class probabilities. The head is a small MLP
stored as numbers in ``head.npz`` and run with numpy: no third-party engine here.

The head and its thresholds are written by ``scripts/train_answer_model.py``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from voiceguide.audio.vad import frame_powers
from voiceguide.speech.embedding_engine import (
    EMBEDDING_DIM,
    TOP,
    TOP_NAMES,
    EmbeddingUnavailable,
    SpeechEmbedding,
    samples_for,
)

CLASSES = ("yes", "no", "emergency", "other", "silence")
SEGMENT_EMBEDDINGS = 6
SEGMENT_SAMPLES = samples_for(SEGMENT_EMBEDDINGS)
#: Scanning a long utterance: a segment every this many embedding steps (80 ms each).
SCAN_STEP = 2
HEAD_DIR = Path(__file__).with_name("answer_head")

Floats = npt.NDArray[np.float32]
Int16 = npt.NDArray[np.int16]


class AnswerModelUnavailable(RuntimeError):
    """The embedding or the head is missing or damaged; the message says which and why."""


def noise_floor(samples: Int16) -> float:
    """RMS of the quietest 30 ms frames: the room's own level, used to pad with."""
    rms = np.sqrt(frame_powers(samples))
    if len(rms) == 0:
        return 1.0
    quiet = np.sort(rms)[: max(1, len(rms) // 10)]
    return float(max(1.0, np.mean(quiet)))


def place(samples: Int16, length: int, offset: int, seed: int) -> Int16:
    """``samples`` at ``offset`` in ``length`` samples of noise at the clip's noise floor
    (cropped when longer); training and decoding pad the same way."""
    rng = np.random.default_rng(seed)
    out = rng.normal(0.0, noise_floor(samples), length)
    piece = samples[max(0, -offset) :][: length - max(0, offset)]
    start = max(0, offset)
    out[start : start + len(piece)] = piece
    return np.clip(np.round(out), -32768, 32767).astype(np.int16)


def features(window: Floats) -> Floats:
    """Head input for one segment's (6, 96) embeddings: the steps in order, plus their
    mean and maximum (which do not care where in the segment the word fell)."""
    w = np.asarray(window, dtype=np.float32).reshape(-1, SEGMENT_EMBEDDINGS, EMBEDDING_DIM)
    out: Floats = np.concatenate(
        [w.reshape(len(w), -1), w.mean(axis=1), w.max(axis=1)], axis=1
    ).astype(np.float32)
    return out


def segment_features(embedding: SpeechEmbedding, samples: Int16) -> Floats:
    """Head inputs of every scanned segment of ``samples``: one centred segment when it
    fits, else a segment every ``SCAN_STEP`` embedding steps."""
    n = len(samples)
    if n <= SEGMENT_SAMPLES:
        audio = place(samples, SEGMENT_SAMPLES, (SEGMENT_SAMPLES - n) // 2, seed=n)
        return features(embedding.embed(audio))
    emb = embedding.embed(samples)
    last = len(emb) - SEGMENT_EMBEDDINGS
    starts = sorted({*range(0, last + 1, SCAN_STEP), last})
    return features(np.stack([emb[s : s + SEGMENT_EMBEDDINGS] for s in starts]))


@dataclass(frozen=True)
class Member:
    """One small MLP (ReLU hidden layers, softmax out) with its input scaling and the
    temperature that calibrates it."""

    mean: Floats
    scale: Floats
    weights: tuple[Floats, ...]
    biases: tuple[Floats, ...]
    temperature: float

    def probabilities(self, x: Floats) -> Floats:
        h = (np.asarray(x, dtype=np.float32) - self.mean) / self.scale
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = h @ w + b
            if i < len(self.weights) - 1:
                h = np.maximum(h, 0.0)
        z = h / self.temperature
        z = z - z.max(axis=-1, keepdims=True)
        e = np.exp(z)
        p: Floats = (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)
        return p


def averaged(members: tuple[Member, ...], x: Floats) -> Floats:
    p: Floats = np.mean([m.probabilities(x) for m in members], axis=0, dtype=np.float32)
    return p


EMERGENCY = CLASSES.index("emergency")


@dataclass(frozen=True)
class Head:
    """Members fitted with different seeds, their probabilities averaged: one fit's
    quirks (a seed that hears calls for help less, or takes one more word for "no") count
    for less. Where ``emergency_members`` are given, the call-for-help probability is
    theirs alone: fitted with calls for help weighing more, they hear more of them, but
    took espeak-ng's "snow" for "no", so they decide nothing else (BENCHMARKS.md,
    sessions 8 and 9). The shipped head: session 6's one answer member, five emergency
    members."""

    members: tuple[Member, ...]
    classes: tuple[str, ...]
    thresholds: dict[str, float]
    emergency_members: tuple[Member, ...] = ()
    #: The embedding's upper layers as this head was trained over them (by name, see
    #: ``embedding_engine.TOP``; empty: the package's own), and the embeddings they give
    #: of ``top_check_audio()``, which prove at load time that they are in effect.
    top: dict[str, Floats] = field(default_factory=dict)
    top_check: Floats | None = None

    def probabilities(self, x: Floats) -> Floats:
        p = averaged(self.members, x)
        if self.emergency_members:
            p[:, EMERGENCY] = averaged(self.emergency_members, x)[:, EMERGENCY]
        return p


#: More members than this is a damaged file, not a head.
MAX_MEMBERS = 16
#: How far the embeddings of ``top_check_audio()`` may be from the head's record: far
#: above rounding between machines, far below what other weights give (tens).
TOP_CHECK_TOLERANCE = 0.05


def top_check_audio() -> Int16:
    """Fixed noise, one segment long: its embeddings tell which upper layers are in use."""
    noise = np.random.default_rng(0).normal(0.0, 3000.0, SEGMENT_SAMPLES)
    return np.clip(np.round(noise), -32768, 32767).astype(np.int16)


def top_arrays(z: dict[str, npt.NDArray[np.generic]]) -> dict[str, Floats]:
    """The upper layers stored in ``head.npz`` (``t0_w``, ``t0_b``, ... in ``TOP``'s order)."""
    out: dict[str, Floats] = {}
    for i, (weight, bias) in enumerate(TOP):
        if f"t{i}_w" not in z:
            continue
        out[weight] = z[f"t{i}_w"].astype(np.float32)
        if bias is not None:
            out[bias] = z[f"t{i}_b"].astype(np.float32)
    if out and len(out) != len(TOP_NAMES):
        raise ValueError("some of the embedding's upper layers are missing")
    return out


def member_arrays(prefix: str, z: dict[str, npt.NDArray[np.generic]], temperature: float) -> Member:
    """The member stored under ``prefix`` in ``head.npz``. A weight matrix may be stored
    as int8 with a scale per column (``w0`` and ``w0_scale``), or as float16/32."""

    def weight(i: int) -> Floats:
        w = z[f"{prefix}w{i}"].astype(np.float32)
        scale = z.get(f"{prefix}w{i}_scale")
        return w if scale is None else w * scale.astype(np.float32)

    layers = int(z[f"{prefix}layers"])
    return Member(
        mean=z[f"{prefix}mean"].astype(np.float32),
        scale=z[f"{prefix}scale"].astype(np.float32),
        weights=tuple(weight(i) for i in range(layers)),
        biases=tuple(z[f"{prefix}b{i}"].astype(np.float32) for i in range(layers)),
        temperature=temperature,
    )


def load_head(folder: Path = HEAD_DIR) -> Head:
    """The head in ``folder`` (``head.npz`` + ``head.json``), checked against the hash in
    the JSON and for sane shapes and numbers; else ``AnswerModelUnavailable``."""
    meta_path, npz_path = folder / "head.json", folder / "head.npz"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        blob = npz_path.read_bytes()
    except (OSError, ValueError) as exc:
        raise AnswerModelUnavailable(f"the answer model's head cannot be read: {exc}") from None
    if hashlib.sha256(blob).hexdigest() != meta.get("npz_sha256"):
        raise AnswerModelUnavailable(f"{npz_path} is damaged (its SHA-256 does not match)")
    try:
        import io

        temperatures = [float(t) for t in meta["temperatures"]]
        emergency_temperatures = [float(t) for t in meta.get("emergency_temperatures", [])]
        if not 1 <= len(temperatures) <= MAX_MEMBERS or len(emergency_temperatures) > MAX_MEMBERS:
            raise ValueError(f"{len(temperatures)} + {len(emergency_temperatures)} members")
        with np.load(io.BytesIO(blob), allow_pickle=False) as z:
            arrays = dict(z)
        top = top_arrays(arrays)
        check = arrays.get("top_check")
        if top and (check is None or check.shape != (SEGMENT_EMBEDDINGS, EMBEDDING_DIM)):
            raise ValueError("the embedding's upper layers come without their check")
        head = Head(
            members=tuple(member_arrays(f"m{k}_", arrays, t) for k, t in enumerate(temperatures)),
            classes=tuple(meta["classes"]),
            thresholds={k: float(v) for k, v in meta["thresholds"].items()},
            emergency_members=tuple(
                member_arrays(f"e{k}_", arrays, t) for k, t in enumerate(emergency_temperatures)
            ),
            top=top,
            top_check=None if check is None else check.astype(np.float32),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise AnswerModelUnavailable(f"the answer model's head is malformed: {exc}") from None
    probe = features(np.zeros((SEGMENT_EMBEDDINGS, EMBEDDING_DIM), np.float32))
    if head.classes != CLASSES:
        raise AnswerModelUnavailable("the answer model's head does not fit this code")
    for m in head.members + head.emergency_members:
        if m.mean.shape != (probe.shape[1],):
            raise AnswerModelUnavailable("the answer model's head does not fit this code")
        if not all(np.isfinite(a).all() for a in (*m.weights, *m.biases, m.mean, m.scale)):
            raise AnswerModelUnavailable("the answer model's head holds non-finite numbers")
        if not 0 < m.temperature < 100:
            raise AnswerModelUnavailable("the answer model's head has a bad temperature")
    if not all(np.isfinite(w).all() for w in head.top.values()):
        raise AnswerModelUnavailable("the answer model's head holds non-finite numbers")
    try:
        head.probabilities(probe)
    except ValueError as exc:  # layer shapes that do not chain
        raise AnswerModelUnavailable(f"the answer model's head is malformed: {exc}") from None
    return head


@dataclass(frozen=True)
class Scores:
    """Class probabilities of each scanned segment of one utterance, in order."""

    segments: Floats  # (n, len(CLASSES))

    def best(self, cls: str) -> float:
        return float(self.segments[:, CLASSES.index(cls)].max())

    def least(self, cls: str) -> float:
        return float(self.segments[:, CLASSES.index(cls)].min())


def embedding_for(head: Head) -> SpeechEmbedding:
    """The embedding with ``head``'s upper layers in effect, proven on ``top_check_audio()``;
    else ``AnswerModelUnavailable``: a head over other embeddings would hear other words."""
    try:
        embedding = SpeechEmbedding(top=head.top)
        if head.top_check is None:
            return embedding
        got = embedding.embed(top_check_audio())
    except EmbeddingUnavailable as exc:
        raise AnswerModelUnavailable(str(exc)) from None
    except Exception as exc:  # onnxruntime's own types, e.g. weights of the wrong shape
        raise AnswerModelUnavailable(f"the embedding's upper layers cannot run: {exc}") from None
    if got.shape != head.top_check.shape or not (
        np.abs(got - head.top_check).max() <= TOP_CHECK_TOLERANCE
    ):
        raise AnswerModelUnavailable(
            "the embedding does not give what the head was trained over (its upper layers "
            "are not in effect, or the embedding model differs)"
        )
    return embedding


class AnswerModel:
    """Embedding + head. Raises ``AnswerModelUnavailable`` when either cannot be used."""

    def __init__(self, head_dir: Path = HEAD_DIR):
        self.head = load_head(head_dir)
        self.embedding = embedding_for(self.head)

    @property
    def thresholds(self) -> dict[str, float]:
        return self.head.thresholds

    def scores(self, samples: Int16) -> Scores:
        return Scores(self.head.probabilities(segment_features(self.embedding, samples)))
