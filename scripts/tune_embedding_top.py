#!/usr/bin/env python3
"""Train the upper layers of the speech embedding on real speech, for the answer model.

The first of two training steps (BENCHMARKS.md, sessions 12 and 13). It writes the tuned
weights of the embedding network's last nine convolutions; ``scripts/train_answer_model.py
--top FILE`` then fits the answer model's head over the embedding with those weights in
place, and ships them in its ``head.npz``. It needs torch and onnx beside the project, for
training only (the runtime needs neither):

    .venv/bin/pip install torch==2.13.0 onnx
    .venv/bin/python scripts/tune_embedding_top.py --pool ../shared/data/speech_commands_pool \\
        --work .cache/top --mode tuned --seed 0 --write .cache/top/top-0.npz

With ``--mode`` repeated and no ``--write`` it is the controlled comparison of session 12
(``frozen``, ``tuned``, ``own``).

1. Real clips of POOL/train (yes, no, every other word as "other"), each cut as live once in
   the quiet room and twice under babble at 4-16 dB (babble seeds 101, 102); POOL/dev the
   same way, quiet and at 10 dB in `bench asr`'s babble (seed 0). One centred segment of
   the answer model's length per cut, as log-mel frames.
2. onnxruntime runs the package's embedding network up to its third pooling layer (that
   tensor added as a graph output; stored as float16).
3. Its last nine convolutions (``Top``) and a head like the shipped one's (six steps plus
   their mean and maximum, 128 hidden units, yes / no / other) are trained in torch, three
   ways on the same data: ``frozen`` (the package's layers as they are), ``tuned`` (those
   layers trained on from the package's weights), ``own`` (the same layers from random
   weights). Only train/ is trained on; dev/ is only reported.
4. Prints, for dev quiet and at 10 dB, the share of "no" (and "yes") accepted at the
   threshold where at most 3 other words of that condition pass. The threshold is picked on
   dev itself, alike for every mode: a comparison between modes, not a product figure.
5. ``--write FILE``: the tuned (or own) layers, as float16, under the names of the weights
   they replace in the package's ONNX file (``voiceguide.speech.embedding_engine.TOP``).
   This step's little head is not kept.
"""

from __future__ import annotations

import argparse
import sys
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from voiceguide.audio.files import load_audio  # noqa: E402
from voiceguide.bench.asr import babble, stream_noise  # noqa: E402
from voiceguide.content import load_content  # noqa: E402
from voiceguide.runtime.utterance import pieces  # noqa: E402
from voiceguide.speech.answer_model import CLASSES, SEGMENT_SAMPLES, place  # noqa: E402
from voiceguide.speech.embedding_engine import (  # noqa: E402
    EMBEDDING_DIM,
    WINDOW_FRAMES,
    SpeechEmbedding,
    check_files,
    mel_windows,
)

#: The tensor tapped: the input of ``conv2d_11``, after the third pooling layer.
TAP = "model/max_pooling2d_2/MaxPool:0"
TAP_SHAPE = (72, 14, 4)
STEPS = 6
LABELS = {"yes": 0, "no": 1}  # every other word: 2
TRAIN_CONDITIONS: list[tuple[tuple[float, float] | float | None, int | None]] = [
    (None, None),
    ((4.0, 16.0), 101),
    ((4.0, 16.0), 102),
]
DEV_CONDITIONS: list[tuple[tuple[float, float] | float | None, int | None]] = [
    (None, None),
    (10.0, 0),
]
EPOCHS = {"frozen": 25, "tuned": 6, "own": 8}
#: Learning rate of the embedding's layers (the head's is 1e-3).
LAYER_LR = {"tuned": 1e-4, "own": 1e-3}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def segment(cut: np.ndarray) -> np.ndarray:
    n = len(cut)
    if n <= SEGMENT_SAMPLES:
        return place(cut, SEGMENT_SAMPLES, (SEGMENT_SAMPLES - n) // 2, seed=n)
    s = (n - SEGMENT_SAMPLES) // 2
    return cut[s : s + SEGMENT_SAMPLES]


def build(folder: Path, conditions: list[Any], seed: int) -> dict[str, np.ndarray]:
    """Log-mel frames of one segment per live cut, its label and its condition."""
    content = load_content("en")
    emb = SpeechEmbedding()
    talk = {b: babble(b) for _, b in conditions if b is not None}
    mels, labels, conds = [], [], []
    for word in sorted(p.name for p in folder.iterdir() if p.is_dir()):
        for path in sorted((folder / word).iterdir()):
            audio = load_audio(path)
            for ci, (snr, bseed) in enumerate(conditions):
                key = f"{word}/{path.name}".encode()
                rng = np.random.default_rng([seed, ci, zlib.crc32(key)])
                level = float(rng.uniform(*snr)) if isinstance(snr, tuple) else snr
                noise = None
                if bseed is not None and level is not None:
                    noise = stream_noise(talk[bseed], audio, audio, level, rng)
                cuts = pieces(content, audio, "yes_no", rng, noise, carry_floor=False)  # as probed
                if not cuts:
                    continue
                longest = max(cuts, key=lambda p: len(p.audio)).audio
                mels.append(emb.mel(segment(longest)))
                labels.append(LABELS.get(word, 2))
                conds.append(ci)
        log(f"{folder.name}: {word} done, {len(mels)} segments")
    return {"X": np.stack(mels), "y": np.array(labels), "c": np.array(conds)}


def training_script() -> Any:
    """``scripts/train_answer_model.py``, loaded as a module."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "train_answer_model", REPO / "scripts" / "train_answer_model.py"
    )
    assert spec is not None and spec.loader is not None
    train = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = train  # its dataclasses look their module up there
    spec.loader.exec_module(train)
    return train


#: The packages whose versions decide the layers' bytes (recorded beside them).
TUNING_PACKAGES = ("torch", "onnx", "numpy", "onnxruntime")


def head_data(pool: Path, work: Path, seed: int) -> dict[str, np.ndarray]:
    """``--data head``: the answer model's own training set, every class, as
    ``scripts/train_answer_model.py`` makes it with ``--seed SEED`` (the same segments, in
    the same order, with its answer members' extra noisy cuts), as log-mel frames. Its
    caches of these go to WORK/head-data, away from its caches of embeddings."""
    train = training_script()
    train.CACHE = work / "head-data"
    emb = SpeechEmbedding()

    class MelFrontEnd:
        """Stands in for the embedding: the script keeps what it gives of each segment."""

        def embed(self, segment: np.ndarray) -> np.ndarray:
            return emb.mel(segment)

    train.features = lambda mel: np.asarray(mel, dtype=np.float32)[None]
    x, y, _, _, noisy = train.training_sets(pool, seed, MelFrontEnd(), True, True)
    if noisy is not None:
        x, y = np.concatenate([x, noisy[0]]), np.concatenate([y, noisy[1]])
    return {"X": x.astype(np.float32), "y": y.astype(np.int64), "c": np.zeros(len(y), np.int8)}


def tap(mels: np.ndarray) -> np.ndarray:
    """The tapped tensor for every window of every segment: (N, STEPS, *TAP_SHAPE)."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    model = onnx.load(str(check_files(None) / "embedding_model.onnx"))
    model.graph.output.append(helper.make_tensor_value_info(TAP, TensorProto.FLOAT, None))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    out = []
    for i in range(0, len(mels), 128):
        x = mels[i : i + 128]
        _, t = session.run(None, {"input_1": mel_windows(x).reshape(-1, WINDOW_FRAMES, 32, 1)})
        out.append(t.astype(np.float16).reshape(len(x), STEPS, *TAP_SHAPE))
    return np.concatenate(out)


def top_network(own: bool) -> Any:
    """conv2d_11 .. conv2d_19 of the embedding network in torch, from the package's weights
    (or random ones when ``own``)."""
    import onnx
    import torch
    from onnx import numpy_helper

    model = onnx.load(str(check_files(None) / "embedding_model.onnx"))
    init = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    nodes = {n.name: n for n in model.graph.node}

    class Top(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.convs = torch.nn.ModuleList()
            self.floors: list[float] = []
            for k in range(11, 20):
                node = nodes[f"model/conv2d_{k}/Conv2D"]
                w = torch.tensor(init[node.input[1]])
                pads = next((list(a.ints) for a in node.attribute if a.name == "pads"), [0] * 4)
                conv = torch.nn.Conv2d(
                    w.shape[1],
                    w.shape[0],
                    tuple(w.shape[2:]),
                    padding=(pads[0], pads[1]),
                    bias=len(node.input) > 2,
                )
                if not own:
                    conv.weight.data = w.clone()
                    if conv.bias is not None:
                        conv.bias.data = torch.tensor(init[node.input[2]])
                self.convs.append(conv)
            for k in range(11, 19):
                node = next(n for name, n in nodes.items() if f"maximum_{k}/" in name)
                floor = next(init[i] for i in node.input if i in init)
                self.floors.append(float(np.asarray(floor).reshape(-1)[0]))

        def forward(self, x: Any) -> Any:
            for i, conv in enumerate(self.convs):
                x = conv(x)
                if i < 8:
                    x = torch.clamp_min(torch.nn.functional.leaky_relu(x, 0.2), self.floors[i])
                if i == 3:
                    x = torch.nn.functional.max_pool2d(x, (1, 2))
                if i == 7:
                    x = torch.nn.functional.max_pool2d(x, (2, 2))
            return x.reshape(len(x), -1)

    return Top()


def fit(
    mode: str, seed: int, train: dict[str, np.ndarray], dev: dict[str, np.ndarray]
) -> tuple[str, Any]:
    """The dev figures of ``mode`` trained with ``seed``, its trained ``Top`` and the head
    trained with it (as ``answer_model.Member`` arrays, before calibration)."""
    import torch

    torch.manual_seed(seed)
    top = top_network(own=mode == "own")

    def features(x: np.ndarray) -> Any:
        t = torch.from_numpy(np.asarray(x, dtype=np.float32)).reshape(-1, *TAP_SHAPE)
        e = top(t).reshape(len(x), STEPS, EMBEDDING_DIM)
        return torch.cat([e.reshape(len(e), -1), e.mean(1), e.max(1).values], 1)

    def all_features(x: np.ndarray) -> Any:
        with torch.no_grad():
            return torch.cat([features(x[i : i + 256]) for i in range(0, len(x), 256)])

    base = all_features(train["T"])
    mu, sd = base.mean(0), base.std(0) + 1e-4
    head = torch.nn.Sequential(
        torch.nn.Linear(base.shape[1], 128),
        torch.nn.ReLU(),
        torch.nn.Linear(128, int(train["y"].max()) + 1),
    )
    groups = [{"params": list(head.parameters()), "lr": 1e-3, "weight_decay": 1e-4}]
    if mode == "frozen":
        top.requires_grad_(False)
    else:
        groups.append(
            {"params": list(top.parameters()), "lr": LAYER_LR[mode], "weight_decay": 1e-4}
        )
    opt = torch.optim.Adam(groups)
    y = torch.from_numpy(train["y"]).long()
    weight = torch.ones(int(train["y"].max()) + 1)
    if len(weight) == len(CLASSES):  # the answer model's classes: as its head is fitted
        weight[CLASSES.index("other")] = 2.0
    for epoch in range(EPOCHS[mode]):
        order = torch.randperm(len(y))
        total = 0.0
        for i in range(0, len(y), 128):
            idx = np.sort(order[i : i + 128].numpy())
            f = base[idx] if mode == "frozen" else features(train["T"][idx])
            loss = torch.nn.functional.cross_entropy(head((f - mu) / sd), y[idx], weight=weight)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        log(f"{mode} seed {seed}: epoch {epoch + 1}/{EPOCHS[mode]}, loss {total / len(y):.4f}")
    with torch.no_grad():
        p = torch.softmax(head((all_features(dev["T"]) - mu) / sd), 1).numpy()
    lines = []
    for cond, name in ((0, "quiet"), (1, "10 dB")):
        mask = dev["c"] == cond
        for k, word in ((1, "no"), (0, "yes")):
            others = np.sort(p[mask & (dev["y"] != k), k])
            own_word = p[mask & (dev["y"] == k), k]
            bar = others[-4]  # at most 3 other words pass
            lines.append(
                f"{mode} seed {seed} {name} {word}: accept {np.mean(own_word > bar):.3f} "
                f"(threshold {bar:.3f}, {len(others)} other words)"
            )
    layers = [m for m in head if isinstance(m, torch.nn.Linear)]
    member = {"mean": mu.numpy(), "scale": sd.numpy(), "layers": np.array(len(layers))}
    for i, layer in enumerate(layers):  # stored as answer_model.Member reads them
        member[f"w{i}"] = layer.weight.detach().numpy().T.astype(np.float32)
        member[f"b{i}"] = layer.bias.detach().numpy().astype(np.float32)
    return "\n".join(lines), (top, member)


def top_arrays(top: Any) -> dict[str, np.ndarray]:
    """The trained layers as float16, named as the weights they replace."""
    from voiceguide.speech.embedding_engine import TOP

    out: dict[str, np.ndarray] = {}
    for conv, (weight, bias) in zip(top.convs, TOP, strict=True):
        out[weight] = conv.weight.detach().numpy().astype(np.float16)
        if bias is not None:
            out[bias] = conv.bias.detach().numpy().astype(np.float16)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--pool", type=Path, default=REPO.parent / "shared/data/speech_commands_pool")
    ap.add_argument("--work", type=Path, required=True, help="folder for the cached arrays")
    ap.add_argument("--mode", action="append", choices=sorted(EPOCHS), help="(repeatable)")
    ap.add_argument("--seed", type=int, action="append", help="(repeatable; default 0)")
    ap.add_argument(
        "--data",
        choices=("probe", "head"),
        default="probe",
        help="what the layers are trained on: 'probe' (real train clips; yes, no, other; "
        "session 12) or 'head' (the answer model's own training set, every class, as "
        "train_answer_model.py --seed 0 makes it: session 13). Dev is the probe's either way",
    )
    ap.add_argument(
        "--write",
        type=Path,
        metavar="FILE",
        help="write the trained layers to FILE (.npz) for train_answer_model.py --top; "
        "needs exactly one --mode (tuned or own) and at most one --seed",
    )
    args = ap.parse_args()
    modes, seeds = args.mode or ["frozen", "tuned"], args.seed or [0]
    if args.write and (len(modes) != 1 or modes[0] == "frozen" or len(seeds) != 1):
        print("tune: --write needs one --mode (tuned or own) and one --seed", file=sys.stderr)
        return 2
    try:
        import onnx  # noqa: F401
        import torch  # noqa: F401
    except ImportError as exc:
        print(f"tune: {exc}; install: .venv/bin/pip install torch==2.13.0 onnx", file=sys.stderr)
        return 2
    if not (args.pool / "train").is_dir() or not (args.pool / "dev").is_dir():
        print(f"tune: {args.pool}: no train/ and dev/ here (give --pool)", file=sys.stderr)
        return 2
    args.work.mkdir(parents=True, exist_ok=True)
    data = {}
    for split, conditions, seed in (("train", TRAIN_CONDITIONS, 5), ("dev", DEV_CONDITIONS, 0)):
        from_head = split == "train" and args.data == "head"
        cached = args.work / ("train-head.npz" if from_head else f"{split}.npz")
        if not cached.exists():
            if from_head:
                arrays = head_data(args.pool, args.work, 0)
            else:
                arrays = build(args.pool / split, conditions, seed)
            arrays["T"] = tap(arrays["X"])
            np.savez(cached, **arrays)
        with np.load(cached) as z:
            data[split] = {k: z[k] for k in ("T", "y", "c")}
        log(f"{split}: {len(data[split]['y'])} segments")
    for mode in modes:
        for seed in seeds:
            figures, (top, member) = fit(mode, seed, data["train"], data["dev"])
            print(figures, flush=True)
    if args.write:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        np.savez(args.write, **top_arrays(top))
        # The head trained with them, for train_answer_model.py --joint-member.
        np.savez(args.write.with_name(args.write.stem + "-member.npz"), **member)
        # What made them, for the head's card: train_answer_model.py --top reads it.
        train = training_script()
        train.write_top_record(
            args.write, sys.argv[1:], train.training_environment(TUNING_PACKAGES)
        )
        log(f"wrote {args.write} ({args.write.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
