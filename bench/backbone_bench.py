"""Compare the registry's backbones as the quick model uses them, to choose the classroom default.

    nohup nice .venv/bin/python bench/backbone_bench.py --data ../shared/data/catsdogs \
        --ood ../shared/data/ood_dev --weights-dir ../shared/data/keras/models > /tmp/backbone_bench.log 2>&1 &

For each backbone × input size: every photo and its mirror are embedded once by the frozen ONNX
backbone (``ml.embeddings``); per seed a stratified holdout of 400 photos is set aside and the
quick head (``ml.quick.fit_quick_head``: C and temperature by 5-fold CV on the other 1,600 only)
is scored on it (accuracy, Wilson 95 % interval). The anomaly detector (``ml.anomaly``) fitted on
the same training photos scores the holdout against ``--ood`` (photos that are neither class):
AUROC. Speed, on this machine, one ONNX Runtime thread: milliseconds to embed one upload (photo
and mirror, what the platform computes per upload), seconds for a quick publish on 2,000 cached
embeddings (``ml.quick.publish_quick``: fit, served graph, TF.js copy, detector), and the time
to embed the whole set once. Writes ``bench/results/backbone_bench.md`` and the measurements the
project form shows (``ml/data/backbone_measurements.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.quick_bench import holdout_split, photos, wilson  # noqa: E402

DEFAULT_RUNS = ("mobilenet:224", "efficientnet_lite0:224", "efficientnet_lite1:240", "efficientnet_lite2:260")
SPEED_REPEATS = 30


def auroc(inliers: np.ndarray, outliers: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    scores = np.concatenate([inliers, outliers])
    return float(roc_auc_score(np.r_[np.zeros(len(inliers)), np.ones(len(outliers))], scores))


def embed_all(backbone, cache: Path, files: list) -> tuple[np.ndarray, np.ndarray, float, Path]:
    """Return every photo's embedding and its mirror's (cached per fingerprint), the seconds it took, the ONNX path."""
    from ml.embeddings import BATCH, Embedder, backbone_onnx, embed_batches
    from ml.preprocess import load_pixels

    source = backbone_onnx(backbone, cache)
    stored = cache / f"embeddings-{backbone.fingerprint}-{len(files)}.npz"
    if stored.is_file():
        data = np.load(stored)
        return data["x"], data["xm"], float(data["seconds"]), source
    embed = Embedder(source)
    started = time.perf_counter()

    def batches():
        for i in range(0, len(files), BATCH):
            yield np.stack([load_pixels(f, backbone.image_size) for f in files[i : i + BATCH]]).astype(np.float32)

    x, xm = embed_batches(embed, batches())
    seconds = time.perf_counter() - started
    np.savez(stored, x=x, xm=xm, seconds=seconds)
    return x, xm, seconds, source


def upload_ms(source: Path, backbone, files: list) -> float:
    """Median milliseconds to embed one photo and its mirror with one ONNX Runtime thread."""
    from ml.embeddings import Embedder
    from ml.preprocess import load_pixels

    embed = Embedder(source, threads=1)
    pixels = [load_pixels(f, backbone.image_size)[None].astype(np.float32) for f in files[:SPEED_REPEATS + 3]]
    times = []
    for i, image in enumerate(pixels):
        start = time.perf_counter()
        embed(image)
        if i >= 3:
            times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times))


def quick_publish_seconds(backbone, source: Path, x, xm, y, classes) -> float:
    """Seconds for one warm quick publish on every cached embedding (the TF.js template already built)."""
    from ml.quick import QuickData, publish_quick

    def once():
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            publish_quick(out, backbone=backbone, backbone_file=source, classes=classes,
                          train=QuickData(x, xm, y), test=None, config={}, dataset_sha256="0" * 64)
            return time.perf_counter() - start

    once()  # the first publish of a fingerprint builds the TF.js template through TensorFlow
    return once()


def measure(run: str, files, y, classes, ood_files, seeds, weights_dir, cache: Path) -> dict:
    from ml.anomaly import fit_detector
    from ml.backbones import spec
    from ml.embeddings import Embedder, embed_batches, resolve_backbone
    from ml.preprocess import load_pixels
    from ml.quick import fit_quick_head

    name, size = run.split(":")
    backbone = resolve_backbone(name, 0.25, int(size), weights_dir=weights_dir)
    x, xm, embed_seconds, source = embed_all(backbone, cache, files)
    ood = np.stack([load_pixels(f, backbone.image_size) for f in ood_files]).astype(np.float32)
    ood_x, _ = embed_batches(Embedder(source), [ood])
    per_seed = []
    for seed in seeds:
        train, hold = holdout_split(y, seed)
        head = fit_quick_head(x[train], xm[train], y[train], len(classes), seed=seed)
        correct = int((head.predict_proba(x[hold], xm[hold]).argmax(1) == y[hold]).sum())
        detector = fit_detector(x[train], y[train], seed=seed)
        per_seed.append({"seed": seed, "correct": correct, "n": int(len(hold)),
                         "auroc": auroc(detector.score(x[hold]), detector.score(ood_x)), "c": head.c})
    correct, n = sum(r["correct"] for r in per_seed), sum(r["n"] for r in per_seed)
    entry = spec(name)
    return {
        "backbone": name, "display_name": entry.display_name, "image_size": int(size),
        "accuracy_mean": float(np.mean([r["correct"] / r["n"] for r in per_seed])),
        "accuracy_ci95": wilson(correct, n), "n": n, "errors": n - correct,
        "auroc_mean": float(np.mean([r["auroc"] for r in per_seed])), "ood_n": len(ood_files),
        "per_seed": per_seed, "upload_ms": upload_ms(source, backbone, files),
        "quick_publish_s": quick_publish_seconds(backbone, source, x, xm, y, classes),
        "embed_all_s": embed_seconds, "photos": len(files),
        "onnx_mb": source.stat().st_size / 1e6, "embedding_size": int(x.shape[1]),
    }


def write_report(path: Path, rows: list, args) -> None:
    lines = [
        "# Backbones for the quick model (cats and dogs)",
        "",
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.1f} at the end. `{' '.join(sys.argv)}`",
        "",
        f"Accuracy: the quick head on {rows[0]['photos'] - 400} photos per seed, scored on a stratified 400-photo "
        f"holdout, seeds {', '.join(map(str, args.seeds))} (mean; Wilson 95 % interval over all "
        f"{rows[0]['n']} holdout predictions). AUROC: the anomaly detector, holdout photos against "
        f"{rows[0]['ood_n']} photos of `{Path(args.ood).name}`. Upload: embedding one photo and its mirror, "
        "one ONNX Runtime thread, median of 30. Quick publish: fit + served graph + TF.js + detector on every "
        "cached embedding, warm.",
        "",
        "| backbone (px) | accuracy [95 %] | errors | AUROC | upload ms | quick publish s | embed all s | "
        "ONNX MB | embedding |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        low, high = r["accuracy_ci95"]
        lines.append(f"| {r['display_name']} ({r['image_size']}) | {100 * r['accuracy_mean']:.1f} % "
                     f"[{100 * low:.1f}, {100 * high:.1f}] | {r['errors']}/{r['n']} | {r['auroc_mean']:.3f} | "
                     f"{r['upload_ms']:.0f} | {r['quick_publish_s']:.1f} | {r['embed_all_s']:.0f} | "
                     f"{r['onnx_mb']:.1f} | {r['embedding_size']} |")
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--ood", required=True)
    parser.add_argument("--weights-dir", default=None, help="holds the MobileNet Keras files")
    parser.add_argument("--runs", nargs="+", default=list(DEFAULT_RUNS), help="backbone:size")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--cache", default="bench/out/backbones")
    parser.add_argument("--out", default="bench/results/backbone_bench.md")
    parser.add_argument("--measurements", default="ml/data/backbone_measurements.json")
    args = parser.parse_args()
    files, y, classes = photos(Path(args.data))
    ood_files = sorted(p for p in Path(args.ood).iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    rows = []
    for run in args.runs:
        rows.append(measure(run, files, y, classes, ood_files, args.seeds, args.weights_dir, cache))
        print(json.dumps(rows[-1]), flush=True)
        write_report(Path(args.out), rows, args)
    measured = {f"{r['backbone']}:{r['image_size']}": {
        key: r[key] for key in ("accuracy_mean", "accuracy_ci95", "n", "auroc_mean", "upload_ms", "quick_publish_s",
                                "onnx_mb")} | {"source": "bench/backbone_bench.py on 2,000 cat and dog photos"}
        for r in rows}
    Path(args.measurements).write_text(json.dumps(measured, indent=1) + "\n")


if __name__ == "__main__":
    main()
