"""Benchmark active learning and label-issue finding on real photos (not a test; run it in the background).

    nohup nice .venv/bin/python bench/label_bench.py --data ../shared/data/catsdogs \
        --weights ../shared/data/keras/models/mobilenet_2_5_224_tf_no_top.h5 > /tmp/label_bench.log 2>&1 &

The photos' embeddings come once from the frozen pretrained MobileNet 0.25 (``ml.models``,
``ml.preprocess``) and are cached under ``bench/out/``; everything after that is NumPy and
scikit-learn through ``ml.active_learning`` and ``ml.label_quality``.

- Label efficiency: for each seed a stratified holdout is set aside; the rest is a pool labeled
  20 photos at a time in the order each strategy chooses; after every batch the quick model
  (``ml.label_quality.quick_classifier``) is fitted and scored on the holdout. The area under the
  learning curve over the first 300 labels is the mean accuracy over those steps.
- Label issues: 500 labeled photos, 10 % of the labels flipped at random; the 75 most suspect
  labels from out-of-fold probabilities ranked by cleanlab; precision and recall of those 75.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ml import active_learning as al  # noqa: E402
from ml import label_quality as lq  # noqa: E402

BATCH = 20  # labels added between two fits, as a class labels them
BUDGET = 300  # labels the area under the curve covers
HOLDOUT = 400  # photos per seed kept out of the pool to score each fit
EXTENSIONS = {".jpg", ".jpeg", ".png"}


def embed(data: Path, weights: Path, size: int, cache: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Return (embeddings, mirror embeddings, labels, class names) of an ImageFolder, computed once into ``cache``.

    The mirror embedding is the photo's flipped left to right, as the platform's cache stores it.
    """
    if cache.exists():
        with np.load(cache) as stored:
            if "x_mirror" in stored.files:
                return stored["x"], stored["x_mirror"], stored["y"], list(stored["classes"])
    from ml.models import build_reference_extractor
    from ml.preprocess import preprocess_image

    classes = sorted(p.name for p in data.iterdir() if p.is_dir())
    files = [(f, i) for i, c in enumerate(classes) for f in sorted((data / c).iterdir()) if f.suffix.lower() in EXTENSIONS]
    extractor = build_reference_extractor("mobilenet", 0.25, size, str(weights))
    start = time.perf_counter()
    chunks, mirrors = [], []
    for at in range(0, len(files), 64):
        batch = np.stack([preprocess_image(f, size) for f, _ in files[at : at + 64]])
        chunks.append(extractor.predict(batch, verbose=0))
        mirrors.append(extractor.predict(batch[:, :, ::-1], verbose=0))
    print(f"embedded {len(files)} photos and their mirrors in {time.perf_counter() - start:.1f} s", flush=True)
    x, y = np.concatenate(chunks).astype(np.float32), np.array([i for _, i in files], np.int64)
    x_mirror = np.concatenate(mirrors).astype(np.float32)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, x=x, x_mirror=x_mirror, y=y, classes=np.array(classes))
    return x, x_mirror, y, classes


def _split(y: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
    holdout = np.concatenate([rng.choice(np.flatnonzero(y == c), HOLDOUT // 2, replace=False) for c in np.unique(y)])
    pool = np.setdiff1d(np.arange(len(y)), holdout)
    return rng.permutation(pool), holdout


def _next_batch(strategy: str, x, y, pool, labeled, model, rng, step: int) -> np.ndarray:
    """Return the next ``BATCH`` pool indices the strategy asks labels for."""
    remaining = np.setdiff1d(pool, labeled, assume_unique=False)
    if strategy == al.MIX:
        strategy = al.MIX_ROUND[step % len(al.MIX_ROUND)]
        if strategy == al.DISAGREEMENT:  # one labeler per photo here: nothing to disagree on
            strategy = al.RANDOM
    if strategy == al.UNCERTAINTY and model is not None:
        scores = al.margin_scores(model.predict_proba(x[remaining]))
        return remaining[np.argsort(-scores, kind="stable")[:BATCH]]
    if strategy == al.DIVERSE:
        order, _ = al.typical_diverse(x[remaining], x[labeled] if len(labeled) else None, BATCH, seed=step)
        return remaining[order]
    if strategy == al.ANOMALY:
        scores = al.anomaly_scores(x[remaining], x[pool])
        return remaining[np.argsort(-scores, kind="stable")[:BATCH]]
    return rng.choice(remaining, BATCH, replace=False)


def learning_curve(strategy: str, x, y, seed: int) -> list[float]:
    """Return the holdout accuracy after each batch of labels, up to ``BUDGET`` labels."""
    rng = np.random.default_rng(seed)
    pool, holdout = _split(y, rng)
    labeled = np.zeros(0, np.int64)
    # Every strategy but the cold-start one starts from the same random first batch.
    model, curve = None, []
    for step in range(BUDGET // BATCH):
        if step == 0 and strategy != al.DIVERSE:
            batch = pool[:BATCH]
        else:
            batch = _next_batch(strategy, x, y, pool, labeled, model, rng, step)
        labeled = np.concatenate([labeled, batch])
        if len(np.unique(y[labeled])) < 2:
            curve.append(0.5)
            model = None
            continue
        model = lq.quick_classifier().fit(x[labeled], y[labeled])
        curve.append(float((model.predict(x[holdout]) == y[holdout]).mean()))
    return curve


def label_issue_run(x, x_mirror, y, seed: int, n: int = 500, noise: float = 0.10, top: int = 75) -> dict:
    rng = np.random.default_rng(1000 + seed)
    chosen = np.concatenate([rng.choice(np.flatnonzero(y == c), n // 2, replace=False) for c in np.unique(y)])
    labels = y[chosen].copy()
    flipped = rng.choice(n, int(round(noise * n)), replace=False)
    labels[flipped] = 1 - labels[flipped]
    C = lq.choose_C(x[chosen], labels, seed=seed)  # on the noisy labels, as the platform does
    probabilities = lq.out_of_fold_probabilities(x[chosen], labels, 2, C=C, seed=seed, mirror=x_mirror[chosen])
    issues = lq.label_issues(labels, probabilities)
    hits = np.isin(issues.order[:top], flipped).sum()
    flagged = np.flatnonzero(issues.flagged)
    return {
        "C": C,
        "precision": hits / top,
        "recall": hits / len(flipped),
        "precision_at_flipped": np.isin(issues.order[: len(flipped)], flipped).mean(),
        "flagged": len(flagged),
        "flagged_precision": np.isin(flagged, flipped).mean() if len(flagged) else float("nan"),
    }


def _ci(values) -> str:
    values = np.asarray(values, np.float64)
    half = 1.96 * values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else float("nan")
    return f"{values.mean():.4f} ± {values.std(ddof=1):.4f} (95 % CI {values.mean() - half:.4f}–{values.mean() + half:.4f})"


def plot(curves: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = np.arange(1, BUDGET // BATCH + 1) * BATCH
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for name, runs in curves.items():
        runs = np.asarray(runs)
        mean, std = runs.mean(axis=0), runs.std(axis=0)
        ax.plot(steps, mean, label=name)
        ax.fill_between(steps, mean - std, mean + std, alpha=0.15)
    ax.set_xlabel("labels used")
    ax.set_ylabel("holdout accuracy (quick model)")
    ax.set_title(f"Label efficiency, mean ± sd over {len(next(iter(curves.values())))} seeds")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/catsdogs")
    parser.add_argument("--weights", type=Path, default=ROOT.parent / "shared/data/keras/models/mobilenet_2_5_224_tf_no_top.h5")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--strategies", default="random,uncertainty,diverse,mix")
    parser.add_argument("--embed-only", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/label_bench.md")
    args = parser.parse_args()

    x, x_mirror, y, classes = embed(args.data, args.weights, args.size, ROOT / f"bench/out/label_bench_embeddings_{args.size}.npz")
    if args.embed_only:
        return
    issues = [label_issue_run(x, x_mirror, y, seed) for seed in range(args.seeds)]
    print("label issues: precision of the top 75 " + _ci([r["precision"] for r in issues]), flush=True)
    strategies = args.strategies.split(",")
    curves = {s: [] for s in strategies}
    start = time.perf_counter()
    for seed in range(args.seeds):
        for s in strategies:
            curves[s].append(learning_curve(s, x, y, seed))
        print(f"seed {seed}: " + ", ".join(f"{s} {np.mean(curves[s][-1]):.4f}" for s in strategies), flush=True)
        # Written after every seed, so a long run leaves its results so far.
        report(args, classes, y, curves, issues, time.perf_counter() - start)


def report(args, classes, y, curves: dict, issues: list, curve_seconds: float) -> None:
    strategies = list(curves)
    seeds = len(curves[strategies[0]])
    auc = {s: np.array([np.mean(c) for c in curves[s]]) for s in strategies}
    png = args.out.with_suffix(".png")
    plot(curves, png)

    steps = [BATCH * (i + 1) for i in range(BUDGET // BATCH)]
    lines = [
        "# Label benchmark: active learning and label issues",
        "",
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC · `python bench/label_bench.py` · {len(y)} photos of "
        f"`{args.data.name}` ({', '.join(classes)}) · frozen MobileNet 0.25 ImageNet features at {args.size} px · "
        f"{seeds} seeds for the curves, {len(issues)} for the label issues · quick model: standardised features + class-balanced logistic regression (C = {lq.QUICK_C}).",
        "",
        "## Label efficiency",
        "",
        f"Per seed: a stratified holdout of {HOLDOUT} photos; the other {len(y) - HOLDOUT} are the pool. Labels are "
        f"added {BATCH} at a time in each strategy's order (all but `diverse` start from the same random first "
        f"batch); the quick model is refitted after every batch and scored on the holdout. AULC = mean holdout "
        f"accuracy over the {len(steps)} steps from {steps[0]} to {steps[-1]} labels (mean ± sd over seeds, "
        f"with the 95 % interval of the mean). Simulation time {curve_seconds:.0f} s.",
        "",
        "| strategy | AULC (first 300 labels) | accuracy at 100 labels | accuracy at 300 labels |",
        "|---|---|---|---|",
    ]
    at = {n: steps.index(n) for n in (100, 300)}
    for s in strategies:
        runs = np.asarray(curves[s])
        lines.append(f"| {s} | {_ci(auc[s])} | {runs[:, at[100]].mean():.4f} | {runs[:, at[300]].mean():.4f} |")
    if "uncertainty" in auc and "random" in auc:
        diff = auc["uncertainty"] - auc["random"]
        wins = int((diff > 0).sum())
        lines += ["", f"Uncertainty − random, paired by seed: {_ci(diff)}; uncertainty ahead in {wins} of {len(diff)} seeds."]
    lines += ["", f"![learning curves]({png.name})", ""]
    p = np.array([r["precision"] for r in issues])
    r = np.array([r["recall"] for r in issues])
    lines += [
        "## Label issues",
        "",
        "Per seed: 500 photos (250 per class), 10 % of their labels (50) flipped at random, out-of-fold probabilities "
        f"({lq.FOLDS}-fold quick model trained on each photo and its mirror image, a photo's probabilities the mean "
        f"over both views; its C chosen from {list(lq.C_GRID)} by 3-fold cross-validated log-loss on "
        f"the noisy labels; chosen: {', '.join(str(r_['C']) for r_ in issues)}), labels ranked by cleanlab (flagged "
        "by confident learning first, then by self-confidence).",
        "",
        "| measure | mean ± sd over seeds |",
        "|---|---|",
        f"| precision of the top 75 (share of flipped labels among them) | {_ci(p)} |",
        f"| recall of the top 75 (share of the 50 flipped labels found) | {_ci(r)} |",
        f"| precision of the top 50 | {_ci([x_['precision_at_flipped'] for x_ in issues])} |",
        f"| labels cleanlab flags | {np.mean([x_['flagged'] for x_ in issues]):.1f} |",
        f"| precision of the flagged labels | {_ci([x_['flagged_precision'] for x_ in issues])} |",
        "",
        "With 50 flipped labels the top 75 can hold at most 50 of them, so its precision cannot exceed 50/75 = 0.667: "
        "the target of 0.7 for the top 75 is out of reach by construction. The top 50 and the flagged set measure "
        "the same ranking where 0.7 is reachable.",
        "",
    ]
    args.out.write_text("\n".join(lines))


if __name__ == "__main__":
    main()
