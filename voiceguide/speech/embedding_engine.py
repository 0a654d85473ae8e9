"""Google's speech embedding, run with onnxruntime: the one adapter over ``onnxruntime``.

The two ONNX files (a log-mel front end and the embedding network, Apache-2.0) ship in
``openwakeword`` 0.5.1's wheel. Only their files are used: openwakeword's own code is
never imported, and none of its wake-word models (CC BY-NC-SA) are touched. The files
are checked against the hashes of that release, so a damaged or different file is
refused at load time instead of silently producing other numbers.

The embedding is 96 numbers per 80 ms step, each computed from 76 mel frames (0.775 s).
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import numpy.typing as npt

#: The two files, with the SHA-256 of openwakeword 0.5.1's copies.
MODEL_FILES = {
    "melspectrogram.onnx": "ba2b0e0f8b7b875369a2c89cb13360ff53bac436f2895cced9f479fa65eb176f",
    "embedding_model.onnx": "70d164290c1d095d1d4ee149bc5e00543250a7316b59f31d056cff7bd3075c1f",
}
#: Mel frames per embedding, and mel frames between embeddings (10 ms each).
WINDOW_FRAMES = 76
STEP_FRAMES = 8
EMBEDDING_DIM = 96
#: The weights of the network's last nine convolutions (weight, bias), by their names in
#: ``embedding_model.onnx``. The answer model's head may carry its own trained copies of
#: them (``scripts/tune_embedding_top.py``), which replace these at load time.
TOP: tuple[tuple[str, str | None], ...] = (
    *(
        (f"model/conv2d_{k}/Conv2D_weights_fused_bn", f"model/conv2d_{k}/Conv2D_bias_fused_bn")
        for k in range(11, 19)
    ),
    ("model/conv2d_19/Conv2D/ReadVariableOp:0", None),
)
#: Every name in ``TOP``: the weights a head may replace.
TOP_NAMES = frozenset(name for pair in TOP for name in pair if name)
#: The mel front end drops this many frames at the end (its STFT edge).
MEL_EDGE_FRAMES = 3
HOP_SAMPLES = 160

Floats = npt.NDArray[np.float32]


class EmbeddingUnavailable(RuntimeError):
    """The embedding model is missing, damaged or cannot run; the message says why."""


def mel_windows(spec: Floats) -> Floats:
    """The embedding network's inputs from log-mel frames (..., frames, 32): every window of
    ``WINDOW_FRAMES`` frames, one each ``STEP_FRAMES`` (..., n, WINDOW_FRAMES, 32)."""
    starts = range(0, spec.shape[-2] - WINDOW_FRAMES + 1, STEP_FRAMES)
    windows = np.stack([spec[..., i : i + WINDOW_FRAMES, :] for i in starts], axis=-3)
    return windows.astype(np.float32)


def samples_for(embeddings: int) -> int:
    """Audio samples that give exactly ``embeddings`` embedding steps."""
    frames = WINDOW_FRAMES + STEP_FRAMES * (embeddings - 1)
    return (frames + MEL_EDGE_FRAMES) * HOP_SAMPLES


def model_folder() -> Path:
    """Where openwakeword's wheel put its resource files (without importing it)."""
    try:
        spec = importlib.util.find_spec("openwakeword")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddingUnavailable(
            "the speech-embedding model is not installed (it comes in the openwakeword "
            "0.5.1 package): run scripts/setup, or pip install --no-deps openwakeword==0.5.1"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "resources" / "models"


def check_files(folder: Path | None = None) -> Path:
    """The folder holding both files, each with its expected hash; else ``EmbeddingUnavailable``."""
    folder = folder or model_folder()
    for name, sha in MODEL_FILES.items():
        path = folder / name
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as exc:
            raise EmbeddingUnavailable(f"cannot read {path}: {exc.strerror or exc}") from None
        if digest != sha:
            raise EmbeddingUnavailable(
                f"{path} is damaged or not openwakeword 0.5.1's file (its SHA-256 differs); "
                "reinstall: pip install --force-reinstall --no-deps openwakeword==0.5.1"
            )
    return folder


class SpeechEmbedding:
    """16 kHz int16 audio in, one 96-number embedding per 80 ms out. ``top``: trained
    weights that replace the network's own, by name (only names in ``TOP``)."""

    def __init__(
        self,
        folder: Path | None = None,
        threads: int = 1,
        top: Mapping[str, npt.NDArray[np.floating]] | None = None,
    ) -> None:
        folder = check_files(folder)
        unknown = sorted(set(top or {}) - TOP_NAMES)
        if unknown:
            raise EmbeddingUnavailable(f"no such weights to replace: {unknown}")
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise EmbeddingUnavailable(f"onnxruntime is not installed ({exc})") from None

        def session_options() -> ort.SessionOptions:
            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            # onnxruntime's CPU arena keeps the largest input's buffers for good: one 8 s
            # utterance left the process 110 MB larger (issue 8, item 12). Without it, freed
            # memory goes back to the allocator, for about 3 ms more per 1 s answer (12 vs 9).
            options.enable_cpu_mem_arena = False
            options.enable_mem_pattern = False
            return options

        options, net_options = session_options(), session_options()
        # Kept alive for the session's life: onnxruntime reads them, it does not copy them.
        self._top = [
            (name, ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(w, dtype=np.float32)))
            for name, w in (top or {}).items()
        ]
        if self._top:
            # At the full level onnxruntime packs the convolutions' weights before the
            # replacements apply, and the network's own are used (measured, 1.32.0); the
            # extended level uses the replacements, for about 10% more time per window.
            net_options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
            for name, value in self._top:
                net_options.add_initializer(name, value)
        try:
            self._mel = ort.InferenceSession(
                str(folder / "melspectrogram.onnx"), options, providers=["CPUExecutionProvider"]
            )
            self._net = ort.InferenceSession(
                str(folder / "embedding_model.onnx"),
                net_options,
                providers=["CPUExecutionProvider"],
            )
        except Exception as exc:  # onnxruntime raises its own types for bad files
            raise EmbeddingUnavailable(f"onnxruntime could not load the model: {exc}") from None

    def mel(self, samples: npt.NDArray[np.int16]) -> Floats:
        """Log-mel frames (n, 32), scaled as the original TensorFlow model expects."""
        x = np.asarray(samples, dtype=np.float32)[None, :]
        out = self._mel.run(None, {"input": x})[0]
        spec: Floats = np.squeeze(out, axis=(1,)).reshape(-1, 32) / 10.0 + 2.0
        return spec.astype(np.float32)

    def embed_batch(self, segments: npt.NDArray[np.int16]) -> Floats:
        """Embeddings (N, n, 96) of N equally long segments, in one run of each network."""
        x = np.asarray(segments, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] < samples_for(1):
            raise ValueError(f"need (N, >= {samples_for(1)}) samples, got {x.shape}")
        out = self._mel.run(None, {"input": x})[0]
        spec = out.reshape(x.shape[0], -1, 32) / 10.0 + 2.0
        windows = mel_windows(spec)
        flat = windows.reshape(-1, WINDOW_FRAMES, 32, 1)
        emb = self._net.run(None, {"input_1": flat})[0]
        steps = windows.shape[1]
        result: Floats = emb.reshape(x.shape[0], steps, EMBEDDING_DIM).astype(np.float32)
        return result

    def embed(self, samples: npt.NDArray[np.int16]) -> Floats:
        """Embeddings (n, 96), one per 80 ms; ``samples`` must be at least ``samples_for(1)``."""
        if len(samples) < samples_for(1):
            raise ValueError(f"need at least {samples_for(1)} samples, got {len(samples)}")
        spec = self.mel(samples)
        windows = mel_windows(spec)[..., None]
        out = self._net.run(None, {"input_1": windows})[0]
        emb: Floats = out.reshape(len(windows), EMBEDDING_DIM).astype(np.float32)
        return emb
