"""int8 per backbone: does the static int8 backbone keep the quick model's accuracy?

    nohup nice .venv/bin/python bench/int8_bench.py > bench/results/int8_bench.md 2> /tmp/int8_bench.log &

For each backbone: its fp32 ONNX graph and its static QDQ int8 copy (``ml.embeddings.backbone_int8_onnx``,
calibrated on 100 training photos, as quick runs do), the quick head fitted on fp32 embeddings of the
training photos, and the same head applied to fp32 and to int8 embeddings of held-out photos. Photos:
``../shared/data/catsdogs``, split by a seeded stratified draw into ``TRAIN`` training and ``EVAL``
evaluation photos. The platform serves an int8 file only when it loses at most one point
(``apps.training.evaluation.int8_judgement``); this table says which backbones pass that bar here.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TRAIN, EVAL = 600, 400
BACKBONES = (("mobilenet", 0.25, 224), ("efficientnet_lite0", 1.0, 224), ("efficientnet_lite2", 1.0, 260))


def _photos(data: Path):
    classes = sorted(p.name for p in data.iterdir() if p.is_dir())
    files = [(f, i) for i, c in enumerate(classes) for f in sorted((data / c).glob("*.jpg"))]
    rng = np.random.default_rng(0)
    order = rng.permutation(len(files))
    y = np.array([files[i][1] for i in order])
    picked = np.concatenate([np.flatnonzero(y == c)[: (TRAIN + EVAL) // len(classes)] for c in range(len(classes))])
    picked = rng.permutation(picked)
    chosen = [files[order[i]] for i in picked]
    return [f for f, _ in chosen], np.array([c for _, c in chosen])


def _wilson(p: float, n: int) -> str:
    from ml.evaluation import wilson_ci

    low, high = wilson_ci(round(p * n), n)
    return f"{100 * p:.1f} [{100 * low:.1f}, {100 * high:.1f}]"


def measure(network: str, alpha: float, size: int, files, y, weights_dir: Path, cache: Path) -> dict:
    from ml.embeddings import BATCH, Embedder, backbone_int8_onnx, backbone_onnx, embed_batches, resolve_backbone
    from ml.preprocess import load_pixels
    from ml.quick import fit_quick_head

    backbone = resolve_backbone(network, alpha, size, weights_dir=weights_dir)
    pixels = np.stack([load_pixels(f, size) for f in files]).astype(np.float32)
    fp32_file = backbone_onnx(backbone, cache)
    int8_file = backbone_int8_onnx(backbone, cache, pixels[:100])
    views = {}
    for name, path in (("fp32", fp32_file), ("int8", int8_file)):
        started = time.perf_counter()
        views[name] = embed_batches(Embedder(path), (pixels[i:i + BATCH] for i in range(0, len(pixels), BATCH)))
        views[name + "_s"] = time.perf_counter() - started
    train, test = slice(0, TRAIN), slice(TRAIN, TRAIN + EVAL)
    x, xm = views["fp32"]
    head = fit_quick_head(x[train], xm[train], y[train], int(y.max() + 1))
    p32 = head.predict_proba(x[test], xm[test])
    p8 = head.predict_proba(views["int8"][0][test], views["int8"][1][test])
    acc32, acc8 = float((p32.argmax(1) == y[test]).mean()), float((p8.argmax(1) == y[test]).mean())
    return {"backbone": network, "size": size, "fp32": acc32, "int8": acc8, "loss_points": 100 * (acc32 - acc8),
            "agreement": float((p32.argmax(1) == p8.argmax(1)).mean()), "max_dp": float(np.abs(p32 - p8).max()),
            "fp32_mb": fp32_file.stat().st_size / 1e6, "int8_mb": int8_file.stat().st_size / 1e6,
            "served": acc8 >= acc32 - 0.01}


def main() -> None:
    data = ROOT.parent / "shared/data/catsdogs"
    weights_dir = ROOT.parent / "shared/data/keras/models"
    files, y = _photos(data)
    print("# int8 per backbone: the quick model on fp32 and on static int8 backbone embeddings\n")
    print(f"`bench/int8_bench.py`: {TRAIN} training and {EVAL} evaluation photos of `../shared/data/catsdogs` "
          "(seeded stratified draw); the quick head fitted on fp32 embeddings, applied to fp32 and int8 ones. "
          "Accuracy with its Wilson 95 % interval; Δp = the largest change of a class probability.\n")
    print("| backbone | input | fp32 accuracy | int8 accuracy | points lost | top-1 agreement | max Δp | fp32 MB | int8 MB | served (≤ 1 point) |")
    print("|---|---:|---|---|---:|---:|---:|---:|---:|---|")
    with tempfile.TemporaryDirectory() as cache:
        for network, alpha, size in BACKBONES:
            row = measure(network, alpha, size, files, y, weights_dir, Path(cache))
            print(f"| {row['backbone']} | {row['size']} | {_wilson(row['fp32'], EVAL)} | {_wilson(row['int8'], EVAL)} | "
                  f"{row['loss_points']:+.1f} | {100 * row['agreement']:.1f} % | {row['max_dp']:.3f} | "
                  f"{row['fp32_mb']:.1f} | {row['int8_mb']:.1f} | {'yes' if row['served'] else 'no'} |", flush=True)


if __name__ == "__main__":
    main()
