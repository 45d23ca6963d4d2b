"""Honest numbers: does the reported score survive many automatic retrains, and what float16 storage costs.

    nohup nice .venv/bin/python bench/honest_bench.py --data ../shared/data/catsdogs > /tmp/honest_bench.log 2>&1 &

Embeddings are the served pipeline's (``bench/label_bench.served_embeddings``: the classroom default
backbone through its ONNX graph, photo and mirror, float16-rounded as the cache stores them).

**Retrains.** A fresh set of ``FRESH`` photos is set aside by a hash of its own: never in the project.
The other photos form the project and get their split by the platform's rule
(``apps.uploads.splits``, test 15 %, validation 15 %). Labels arrive in a seeded random order, as
a class labels what its queue hands out; after each of ``RETRAINS`` steps the quick head
(``ml.quick.fit_quick_head``) is fitted on the labeled training photos and the activation rule
decides. Two rules are compared on the same sequence of candidates:

- *platform*: the rule of ``apps.training.activation`` (identical labeled validation photos,
  activate unless fewer right); the reported score is the active version's on the test share;
- *selected on the reported photos*: the earlier rule, which compared versions on the photos that
  also report (the test share) and kept the winner.

For each step: the active version's reported score (n, Wilson 95 %) and its accuracy on the fresh
set (n, Wilson 95 %); the table says whether each lies inside the other's interval. Over ``--seeds``
label orders, the mean of (reported - fresh) per rule with a 95 % interval over seeds: selection on
the reported photos shows as a positive mean.

**Precision.** The cache stores float16 embeddings; the served graph computes float32. The head
fitted on float16 is applied to both on every photo: how many predictions differ, and the largest
probability difference.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

FRESH = 400
RETRAINS = 30
TEST_FRACTION = VALIDATION_FRACTION = 0.15
FIRST_LABELS = 40


def _wilson(correct: int, n: int) -> tuple[float, float]:
    from ml.evaluation import wilson_ci

    return tuple(wilson_ci(int(correct), int(n)))


def _position(path: Path, salt: str = "") -> float:
    digest = hashlib.sha256(salt.encode() + path.read_bytes()).hexdigest()
    return int(digest[:8], 16) / 0x1_0000_0000


def splits(files: list[Path]) -> np.ndarray:
    """Return 'fresh', 'train', 'validation' or 'test' per photo (the platform's rule for the project's photos)."""
    from apps.uploads.splits import split_for_position

    fresh_order = np.argsort([_position(f, "fresh:") for f in files])[:FRESH]
    out = np.array([split_for_position(_position(f), test_fraction=TEST_FRACTION,
                                       validation_fraction=VALIDATION_FRACTION) for f in files], dtype=object)
    out[fresh_order] = "fresh"
    return out


def retrains(data: dict, split: np.ndarray, seed: int) -> list[dict]:
    from ml.quick import fit_quick_head

    x, xm, y = data["x"], data["xm"], data["y"]
    k = int(y.max() + 1)
    project = np.flatnonzero(split != "fresh")
    order = np.random.default_rng(seed).permutation(project)
    sizes = np.unique(np.geomspace(FIRST_LABELS, len(project), RETRAINS).astype(int))
    fresh = np.flatnonzero(split == "fresh")
    active = {"platform": None, "selected": None}
    rows = []
    for step, size in enumerate(sizes, start=1):
        labeled = order[:size]
        train = labeled[split[labeled] == "train"]
        if len(np.unique(y[train])) < k:
            continue
        head = fit_quick_head(x[train], xm[train], y[train], k, seed=seed)
        predict = lambda h, rows_: h.predict_proba(x[rows_], xm[rows_]).argmax(1)  # noqa: E731
        val, test = labeled[split[labeled] == "validation"], labeled[split[labeled] == "test"]
        for rule, judged in (("platform", val), ("selected", test)):
            current = active[rule]
            if current is None or (predict(head, judged) == y[judged]).sum() >= (predict(current, judged) == y[judged]).sum():
                active[rule] = head
        row = {"step": step, "labels": int(size), "test_n": int(len(test)), "validation_n": int(len(val))}
        for rule in active:
            reported = int((predict(active[rule], test) == y[test]).sum())
            fresh_right = int((predict(active[rule], fresh) == y[fresh]).sum())
            low, high = _wilson(fresh_right, len(fresh))
            reported_ci = _wilson(reported, len(test))
            row[rule] = {"reported": reported / max(1, len(test)), "reported_ci": reported_ci,
                         "fresh": fresh_right / len(fresh), "fresh_ci": (low, high),
                         "inside": low <= reported / max(1, len(test)) <= high,
                         "fresh_inside_reported": reported_ci[0] <= fresh_right / len(fresh) <= reported_ci[1]}
        rows.append(row)
    return rows


def precision(data: dict, files: list[Path], cache: Path) -> dict:
    """Compare the head's answers on float16-stored and float32 embeddings of every photo."""
    from label_bench import classroom_backbone

    from ml.embeddings import BATCH, Embedder, backbone_onnx, embed_batches
    from ml.preprocess import load_pixels
    from ml.quick import fit_quick_head

    backbone = classroom_backbone(None)
    stored = cache / f"float32-{backbone.fingerprint}-{len(files)}.npz"
    if stored.is_file():
        with np.load(stored) as saved:
            x32, xm32 = saved["x"], saved["xm"]
    else:
        embed = Embedder(backbone_onnx(backbone, cache / "backbones"))
        batches = (np.stack([load_pixels(f, backbone.image_size) for f in files[i:i + BATCH]])
                   for i in range(0, len(files), BATCH))
        x32, xm32 = embed_batches(embed, batches)
        np.savez(stored, x=x32, xm=xm32)
    y = data["y"]
    head = fit_quick_head(data["x"], data["xm"], y, int(y.max() + 1))
    p16 = head.predict_proba(data["x"], data["xm"])
    p32 = head.predict_proba(x32, xm32)
    return {"photos": len(y), "predictions_differ": int((p16.argmax(1) != p32.argmax(1)).sum()),
            "max_probability_difference": float(np.abs(p16 - p32).max()),
            "mean_probability_difference": float(np.abs(p16 - p32).mean()),
            "max_embedding_difference": float(np.abs(data["x"] - x32).max())}


def main() -> None:
    from label_bench import photos, served_embeddings

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/catsdogs")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/riim_label_bench"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", type=int, default=8, help="label orders (the first is printed step by step)")
    parser.add_argument("--skip-precision", action="store_true")
    args = parser.parse_args()
    files, _y, _classes = photos(args.data)
    data = served_embeddings(args.data, args.cache)
    split = splits(files)
    counts = {name: int((split == name).sum()) for name in ("train", "validation", "test", "fresh")}
    print(f"photos: {counts}")
    print("| step | labels | test n | validation n | rule | reported (test) [95 %] | fresh accuracy [95 %] | reported in fresh's | fresh in reported's |")
    print("|---:|---:|---:|---:|---|---|---|---|---|")
    bias = {"platform": [], "selected": []}
    inside = {"platform": [], "selected": []}
    for seed in range(args.seed, args.seed + args.seeds):
        rows = retrains(data, split, seed)
        for rule in bias:
            bias[rule].append(np.mean([row[rule]["reported"] - row[rule]["fresh"] for row in rows]))
            inside[rule] += [row[rule]["fresh_inside_reported"] for row in rows]
        if seed != args.seed:
            print(f"seed {seed}: mean reported - fresh, platform {100 * bias['platform'][-1]:+.2f} points, "
                  f"selected {100 * bias['selected'][-1]:+.2f} points", flush=True)
            continue
        for row in rows:
            for rule in ("platform", "selected"):
                r = row[rule]
                print(f"| {row['step']} | {row['labels']} | {row['test_n']} | {row['validation_n']} | {rule} | "
                      f"{100 * r['reported']:.1f} [{100 * r['reported_ci'][0]:.1f}, {100 * r['reported_ci'][1]:.1f}] | "
                      f"{100 * r['fresh']:.1f} [{100 * r['fresh_ci'][0]:.1f}, {100 * r['fresh_ci'][1]:.1f}] | "
                      f"{'yes' if r['inside'] else 'no'} | {'yes' if r['fresh_inside_reported'] else 'NO'} |", flush=True)
    from scipy import stats

    for rule, values in bias.items():
        values = np.array(values)
        half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else np.nan
        print(f"{rule}: mean (reported - fresh) over {len(values)} label orders x {RETRAINS} retrains = "
              f"{100 * values.mean():+.2f} points [95 % {100 * (values.mean() - half):+.2f}, {100 * (values.mean() + half):+.2f}]; "
              f"fresh accuracy inside the reported interval at {100 * np.mean(inside[rule]):.0f} % of retrains", flush=True)
    if not args.skip_precision:
        print("precision:", precision(data, files, args.cache), flush=True)


if __name__ == "__main__":
    main()
