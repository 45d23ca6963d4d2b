"""Benchmark the ML engine on a real ImageFolder (not a test; run it in the background).

    nohup nice .venv/bin/python bench/ml_bench.py --data ../shared/data/catsdogs \
        --weights-dir ../shared/data/keras/models > /tmp/ml_bench.log 2>&1 &

A seeded, stratified part of the images is held out (written as the ``split`` column of a
manifest, exactly as the platform passes its fixed holdout). Every run trains through
``ml.training.train`` and is scored on that holdout; the same run reports a logistic-regression
baseline on the frozen backbone's features. The table is written to ``--out`` after every run.

A run with compression (``mobilenet_compressed``: ``--prune 0.5 --quantize int8,float16``) adds a
second table from that same run: every served variant's holdout accuracy, file size and
single-image latency (ONNX Runtime / LiteRT with one pinned thread, the Keras model on the same
image), and the anomaly detector's AUROC on ``--ood`` photos against the held-out class photos,
plus the fraction of synthetic blank and noise images it flags.

    nohup nice .venv/bin/python bench/ml_bench.py --runs mobilenet_compressed \
        --out bench/results/ml_bench_compression.md > /tmp/ml_bench.log 2>&1 &
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RUNS = {
    # The plain recipe: frozen head then fine-tune of the top layers, no augmentation.
    "mobilenet_plain": dict(backbone="mobilenet", alpha=0.25, image_size=224, augment="none", epochs=10,
                            fine_tune_epochs=5, fine_tune_layers=20),
    # What closes the gap: augmentation, a deeper unfreeze, a longer fine-tune, mirror TTA.
    "mobilenet_tuned": dict(backbone="mobilenet", alpha=0.25, image_size=224, augment="light", epochs=10,
                            fine_tune_epochs=12, fine_tune_layers=60, fine_tune_learning_rate=5e-5,
                            patience=5, tta=True),
    # Same recipe at a higher input resolution (the convolution weights do not depend on it).
    "mobilenet_hires": dict(backbone="mobilenet", alpha=0.25, image_size=288, augment="light", epochs=10,
                            fine_tune_epochs=15, fine_tune_layers=60, fine_tune_learning_rate=5e-5,
                            patience=5, tta=True),
    # Longer, with patience for the noisy validation curve of a small from-scratch network.
    "scratch_128_long": dict(backbone="scratch", image_size=128, augment="strong", epochs=90, patience=25,
                             learning_rate=1e-3, dropout=0.3, weights="none"),
    "scratch_128": dict(backbone="scratch", image_size=128, augment="strong", epochs=60, patience=12,
                        learning_rate=1e-3, dropout=0.3, weights="none"),
    # The plain recipe, then pruned to 50 % and quantized: what the server actually runs.
    "mobilenet_compressed": dict(backbone="mobilenet", alpha=0.25, image_size=224, augment="none", epochs=10,
                                 fine_tune_epochs=5, fine_tune_layers=20),
}
# Export options per run (train(..., prune=, quantize=)); runs not listed export fp32 only.
EXPORT_OPTIONS = {"mobilenet_compressed": {"prune": 0.5, "quantize": ("int8", "float16")}}
SYNTHETIC_SIZE = 12  # blank and noise images per kind for the detector check
VARIANT_ORDER = ("keras", "onnx_unpruned", "onnx_fp32", "onnx_int8", "tflite_fp32", "tflite_dynamic",
                 "tflite_float16", "tflite_int8")


def write_manifest(data: Path, out: Path, holdout: float, seed: int) -> Path:
    """Write path,label,split with a seeded stratified holdout."""
    from ml.datasets import read_samples

    rng = np.random.default_rng(seed)
    samples = read_samples(data)
    rows = []
    for label in sorted({s.label for s in samples}):
        members = [s for s in samples if s.label == label]
        order = rng.permutation(len(members))
        n_holdout = int(round(len(members) * holdout))
        for rank, i in enumerate(order):
            rows.append({"path": str(Path(members[i].path).resolve()), "label": label,
                         "split": "holdout" if rank < n_holdout else "train"})
    manifest = out / "manifest.csv"
    with open(manifest, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["path", "label", "split"])
        writer.writeheader()
        writer.writerows(rows)
    return manifest


def logistic_baseline(manifest: Path, alpha: float, image_size: int, seed: int, weights_dir: Path) -> dict:
    """Logistic regression on frozen ImageNet MobileNet features (train pool -> holdout)."""
    from sklearn.linear_model import LogisticRegression

    from ml.backend import keras
    from ml.datasets import HOLDOUT, load_image_data
    from ml.evaluation import wilson_ci
    from ml.models import build_pretrained_backbone
    from ml.weights import resolve_weights

    start = time.perf_counter()
    data = load_image_data(manifest, image_size)
    decode_s = time.perf_counter() - start
    resolution = resolve_weights("mobilenet", alpha, "imagenet", image_size, weights_dir=weights_dir, download=False)
    if not resolution.available:
        return {"error": resolution.message}
    base = build_pretrained_backbone("mobilenet", alpha, image_size, resolution.path)
    pooled = keras.Sequential([base, keras.layers.GlobalAveragePooling2D()])
    t0 = time.perf_counter()
    features = pooled.predict(data.x, batch_size=64, verbose=0)
    features_s = time.perf_counter() - t0
    holdout = np.array([s.split == HOLDOUT for s in data.samples])
    t0 = time.perf_counter()
    clf = LogisticRegression(max_iter=5000, C=1.0, random_state=seed)
    clf.fit(features[~holdout], data.y[~holdout])
    fit_s = time.perf_counter() - t0
    correct = int((clf.predict(features[holdout]) == data.y[holdout]).sum())
    n = int(holdout.sum())
    return {"accuracy": correct / n, "n": n, "ci95": wilson_ci(correct, n), "weights": resolution.message,
            "timings": {"decode_s": round(decode_s, 1), "features_s": round(features_s, 1),
                        "fit_s": round(fit_s, 1)}}


def ood_report(run_dir: Path, card: dict, manifest: Path, ood: Path, seed: int) -> dict:
    """Score the detector of each served ONNX variant on OOD photos, held-out class photos and synthetic images."""
    from ml.anomaly import PairedDetector, auroc, detector_embeddings, load_detectors, second_opinion
    from ml.datasets import HOLDOUT, read_samples
    from ml.preprocess import load_pixels
    from ml.runtime import ANOMALY_FILE, input_size

    size = input_size(card)
    inside = np.stack([load_pixels(s.path, size) for s in read_samples(manifest) if s.split == HOLDOUT])
    outside = np.stack([load_pixels(p, size) for p in sorted(ood.iterdir()) if p.is_file()])
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 256, (SYNTHETIC_SIZE, size, size, 3)).astype(np.float32)
    blank = np.stack([np.full((size, size, 3), c, np.float32) for c in rng.integers(0, 256, (SYNTHETIC_SIZE, 3))])
    report = {"n_in": len(inside), "n_out": len(outside)}
    ratios = {}  # variant -> image set -> score / threshold
    detectors = load_detectors(run_dir / ANOMALY_FILE)
    embeddings = {name: detector_embeddings(run_dir, images)
                  for name, images in (("in", inside), ("out", outside), ("noise", noise), ("blank", blank))}
    for variant, detector in detectors.items():
        ratios[variant] = {name: detector.score(by_variant[variant]) / detector.threshold
                           for name, by_variant in embeddings.items()}
    for variant in ("fp32", "int8"):  # what the server runs: the served file's detector paired with the second opinion
        other = second_opinion(detectors, variant)
        if variant in ratios and other is not None:
            paired = PairedDetector.calibrate(detectors[variant], detectors[other])
            ratios[f"{variant}+{other}"] = {
                k: (ratios[variant][k] + ratios[other][k]) / paired.threshold for k in ratios[variant]
            }
    for variant, r in ratios.items():
        report[variant] = {"auroc": auroc(r["in"], r["out"]), **{f"flagged_{k}": float((v > 1.0).mean()) for k, v in r.items()}}
    return report


def render_compression(name: str, card: dict, ood: dict | None) -> list:
    """Return the markdown lines of one compressed run: variants, targets, detector, stage times."""
    variants, sizes, latency = card["variants"], card["sizes"], card["latency"]
    n = card["serving"]["holdout_images"]
    keras_ms = latency["keras"]["p50"]
    lines = [
        "", f"## Served variants of `{name}` (one run)", "",
        f"Holdout n={n}; latency is the median of {latency['keras']['n']} single-image calls on the same image, "
        "ONNX Runtime and LiteRT pinned to 1 intra-op thread; Keras is `model(x, training=False)` on the same image.",
        "",
        "| variant | file | holdout acc | size (KiB) | gzip (KiB) | latency p50 (ms) | Keras p50 / this p50 |",
        "|---|---|---|---|---|---|---|",
    ]
    for key in VARIANT_ORDER:
        if key not in variants:
            continue
        size = sizes.get(key, {})
        kib = f"{size['bytes'] / 1024:.0f}" if size.get("bytes") else "—"
        gz = f"{size['gzip_bytes'] / 1024:.0f}" if size.get("gzip_bytes") else "—"
        ms = latency[key]["p50"]
        where = variants[key]["file"] or ("Keras, served weights, in memory" if card["serving"].get("pruned") else "Keras, in memory")
        lines.append(f"| {key} | {where} | {pct(variants[key]['accuracy'])} | {kib} | {gz} | "
                     f"{ms:.2f} | {keras_ms / ms:.1f}× |")
    pruning, parity = card["pruning"], card["parity"]
    int8_ratio = sizes["onnx_int8"]["bytes"] / sizes["onnx_fp32"]["bytes"] if "onnx_int8" in sizes else None
    lines += [
        "",
        f"- Pruning: measured parameter-weighted sparsity **{pruning['total_sparsity']:.3f}** (target {pruning['target']}, "
        f"{pruning['allocation']} allocation over {len(pruning['sparsity']['layers'])} kernels); pruned ONNX "
        f"{pct(variants['onnx_fp32']['accuracy'])} vs unpruned {pct(variants['onnx_unpruned']['accuracy'])} "
        f"(Δ {100 * (variants['onnx_fp32']['accuracy'] - variants['onnx_unpruned']['accuracy']):+.1f} points); "
        f"gzip {pruning['gzip_bytes']['before'] / 1024:.0f} → {pruning['gzip_bytes']['after'] / 1024:.0f} KiB.",
    ]
    if int8_ratio is not None:
        lines.append(
            f"- int8 ONNX: {100 * int8_ratio:.1f} % of the fp32 file, accuracy Δ "
            f"{100 * (variants['onnx_int8']['accuracy'] - variants['onnx_fp32']['accuracy']):+.1f} points; "
            f"{card['quantization']['onnx_int8']['weights']['conv']}/{card['quantization']['onnx_int8']['weights']['conv_total']} "
            f"conv and {card['quantization']['onnx_int8']['weights']['dense']} dense weights stored as int8.")
    for key, report in parity["fp32"].items():
        lines.append(f"- Parity Keras vs {key} on {report['images']} holdout images: max |Δ| probabilities "
                     f"{report['max_abs']['probabilities']:.2e}, logits {report['max_abs']['logits']:.2e}, "
                     f"embedding {report['max_abs']['embedding']:.2e}; top-1 agreement {pct(report['top1_agreement'])}.")
    for key, report in parity["quantized"].items():
        lines.append(f"- Agreement Keras vs {key}: top-1 {pct(report['top1_agreement'])}, "
                     f"max |Δ| probabilities {report['max_abs']['probabilities']:.3f}.")
    lines.append(f"- ONNX Runtime fp32 vs Keras, single image: {keras_ms / latency['onnx_fp32']['p50']:.1f}× faster.")
    if ood:
        paired = [v for v in ood if "+" in v]
        for variant in (*paired, "fp32", "int8", "reference", "reference_int8", "unpruned"):
            if variant in ood:
                r = ood[variant]
                parts = variant.split("+")
                models = " and ".join(describe_detector_input(card["anomaly"]["variants"][p]) for p in parts)
                served = ", summed (what the server runs)" if len(parts) == 2 or not paired else ""
                lines.append(
                    f"- Anomaly detector ({models} embeddings{served}, "
                    f"{card['anomaly']['variants'][parts[0]]['method']}, "
                    f"p{card['anomaly']['variants'][parts[0]]['percentile']:.0f} threshold): AUROC **{r['auroc']:.3f}** on "
                    f"{ood['n_out']} OOD photos vs {ood['n_in']} held-out class photos; flagged: OOD {pct(r['flagged_out'])}, "
                    f"held-out {pct(r['flagged_in'])}, noise {pct(r['flagged_noise'])}, blank {pct(r['flagged_blank'])} "
                    f"({SYNTHETIC_SIZE} each).")
    t = card["timings"]
    lines.append("- Stages (s): " + ", ".join(f"{s} {v:.0f}" for s, v in t["stages"].items())
                 + f"; total {t['total_s']:.0f} s = {t['total_over_final_training']}× the final training "
                 f"({t['final_training_s']:.0f} s).")
    return lines


def describe_detector_input(variant: dict) -> str:
    """The file a detector's embeddings come from, and what feeds it when that is not the image."""
    if variant.get("input_from"):
        return f"{variant['model']} (on {variant['input_from']}'s early features)"
    return variant["model"]


def pct(v):
    return f"{100 * v:.1f} %"


def render(meta: dict, baseline: dict | None, results: dict) -> str:
    lines = [
        "# ML engine benchmark",
        "",
        f"Measured {meta['date']} on {meta['machine']} with `bench/ml_bench.py` "
        f"(seed {meta['seed']}, holdout {pct(meta['holdout'])} of `{meta['data']}`, stratified and seeded).",
        f"Engine: {meta['note']}." if meta.get("note") else "",
        "Accuracy is on the held-out images with n and a Wilson 95 % interval; k-fold is on the training pool.",
        "",
    ]
    if baseline:
        if "error" in baseline:
            lines.append(f"Baseline: not run ({baseline['error']}).")
        else:
            lines.append(
                f"**Baseline** — logistic regression on frozen MobileNet 0.25 features at {meta['baseline_size']} px "
                f"(train pool → holdout): **{pct(baseline['accuracy'])}** (n={baseline['n']}, 95 % CI "
                f"{pct(baseline['ci95'][0])}–{pct(baseline['ci95'][1])}); time {baseline['timings']}.")
        lines.append("")
    lines += [
        "| run | backbone | size | augment | TTA | holdout acc | n | 95 % CI | k-fold acc (mean ± std) | k-fold method | "
        "verdict | stages (s) | total s | final training s | total / final |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        if "error" in r:
            lines.append(f"| {name} | error: {r['error']} |" + " |" * 13)
            continue
        c = r["card"]
        m, k, t = c["metrics"], c["kfold"], c["timings"]
        kf = f"{pct(k['accuracy']['mean'])} ± {100 * k['accuracy']['std']:.1f} (k={k['k']})" if k else "—"
        method = "frozen features, head only" if k and "frozen" in k["method"] else (k["method"] if k else "—")
        stages = ", ".join(f"{s} {v:.0f}" for s, v in t["stages"].items())
        lines.append(
            f"| {name} | {c['backbone']['used']}{' (fallback)' if c['backbone']['fallback'] else ''} | "
            f"{c['input']['size'][0]} | {c['config']['augment']} | {c['config']['tta']} | **{pct(m['accuracy'])}** | "
            f"{m['n']} | {pct(m['ci95'][0])}–{pct(m['ci95'][1])} | {kf} | {method} | {c['overfitting']['verdict']} | "
            f"{stages} | {t['total_s']:.0f} | {t['final_training_s']:.0f} | {t['total_over_final_training']} |")
    lines += ["", "Configurations:", ""]
    for name, r in results.items():
        if "card" in r:
            cfg = {k: v for k, v in r["card"]["config"].items() if k not in ("scratch_filters",)}
            lines.append(f"- `{name}`: `{json.dumps(cfg, sort_keys=True)}`; "
                         f"min val loss at epoch {r['card']['overfitting']['min_val_loss_epoch']}, "
                         f"final gap {r['card']['overfitting']['final_gap']:.3f}")
    for name, r in results.items():
        if "card" in r and "variants" in r["card"] and "onnx_unpruned" in r["card"]["variants"]:
            lines += render_compression(name, r["card"], r.get("ood"))
    return "\n".join(lines) + "\n"


def render_existing(args, meta: dict, work: Path) -> int:
    """Write the table from measured cards (runs of several invocations with the same holdout)."""
    from ml.card import CARD_FILE, read_card

    baseline_file = work / "baseline.json"
    baseline = json.loads(baseline_file.read_text()) if baseline_file.exists() else None
    results, engines = {}, []
    for name in args.runs.split(","):
        card_file = work / name / CARD_FILE
        if card_file.exists():
            results[name] = {"card": read_card(card_file)}
            engine = work / name / "engine.txt"
            engines.append(f"`{name}`: {engine.read_text() if engine.exists() else 'unrecorded'}")
        else:
            results[name] = {"error": "not measured"}
    meta["note"] = "; ".join(engines)
    meta["date"] = "; ".join(sorted({r["card"]["created"] for r in results.values() if "card" in r}))
    Path(args.out).write_text(render(meta, baseline, results))
    print(Path(args.out).read_text())
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/catsdogs")
    parser.add_argument("--weights-dir", default="../shared/data/keras/models")
    parser.add_argument("--out", default="bench/results/ml_bench.md")
    parser.add_argument("--work", default="bench/out")
    parser.add_argument("--runs", default=",".join(RUNS), help="comma-separated names from: " + ", ".join(RUNS))
    parser.add_argument("--holdout", type=float, default=0.2)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--note", default="", help="the engine measured (e.g. its commit), kept per run")
    parser.add_argument("--render-only", action="store_true",
                        help="rebuild the table from the cards already measured in --work (runs nothing)")
    parser.add_argument("--ood", default="../shared/data/ood_dev", help="out-of-distribution photos for the detector")
    args = parser.parse_args()

    weights_dir = Path(args.weights_dir).resolve()
    from ml.config import TrainConfig
    from ml.training import train

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    manifest = write_manifest(Path(args.data), work, args.holdout, args.seed)
    meta = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": f"{os.cpu_count()} CPU cores (nice), TensorFlow CPU", "seed": args.seed,
            "holdout": args.holdout, "data": args.data, "baseline_size": 224, "note": args.note}
    if args.render_only:
        return render_existing(args, meta, work)
    baseline = None
    if not args.no_baseline:
        baseline = logistic_baseline(manifest, 0.25, 224, args.seed, weights_dir)
        (work / "baseline.json").write_text(json.dumps(baseline))
        print("baseline", json.dumps(baseline), flush=True)
    results = {}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(render(meta, baseline, results))
    for name in args.runs.split(","):
        config = TrainConfig(folds=args.folds, seed=args.seed, **RUNS[name])
        start = time.perf_counter()
        try:
            result = train(config, manifest, work / name, data_label=f"{args.data} (manifest with seeded holdout)",
                           weights_dir=weights_dir,
                           progress=lambda event, name=name: print(
                               f"[{name}] {event.stage} {100 * (event.fraction or 0):.0f}% {event.text}", flush=True),
                           **EXPORT_OPTIONS.get(name, {}))
            results[name] = {"card": result.card}
            (work / name / "engine.txt").write_text(args.note)
            if name in EXPORT_OPTIONS and Path(args.ood).is_dir():
                results[name]["ood"] = ood_report(work / name, result.card, manifest, Path(args.ood), args.seed)
                print(name, "ood", json.dumps(results[name]["ood"]), flush=True)
            print(name, json.dumps(result.summary), f"{time.perf_counter() - start:.0f}s", flush=True)
        except Exception as exc:  # keep benchmarking the other runs; the table shows the failure
            results[name] = {"error": f"{type(exc).__name__}: {exc}"}
            print(name, "failed", exc, flush=True)
        Path(args.out).write_text(render(meta, baseline, results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
