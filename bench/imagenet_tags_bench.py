"""Calibrate «no lo sé» for the content tags, then report what they name on photos of other things.

    nice .venv/bin/python bench/imagenet_tags_bench.py --data ../shared/data/catsdogs --ood ../shared/data/ood_dev

The content tags are EfficientNet-Lite0's own ImageNet classifier on the frozen embedding, summed
into the coarse categories of ``ml/data/imagenet_categories.json``. Calibration uses cat and dog
photos only (whose category is known: «gato», «perro»): the threshold is the lowest top-category
probability at which the named category is right on at least ``--precision`` of the photos it is
said for. The report then uses ``--ood`` (photos never used to choose anything; the file name's
prefix is what the photo shows): the share whose top category falls in the expected group, with
and without the «no lo sé» threshold; landscape and urban photos are reported apart. Writes
``bench/results/imagenet_tags_bench.md``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.quick_bench import photos, wilson  # noqa: E402

GRID = np.round(np.arange(0.20, 0.96, 0.05), 2)


def top_categories(embeddings, head, categories) -> list[tuple[str, float]]:
    from ml.tags import coarse_categories, imagenet_probabilities

    return [(row["category"], row["probability"]) for row in
            (coarse_categories(imagenet_probabilities(e, head), categories, k=1)[0] for e in embeddings)]


def embed(files, backbone, source) -> np.ndarray:
    from ml.embeddings import Embedder
    from ml.preprocess import load_pixels

    embedder = Embedder(source)
    return np.concatenate([embedder(np.stack([load_pixels(f, backbone.image_size) for f in files[i:i + 32]]))[0]
                           for i in range(0, len(files), 32)])


def main() -> None:
    from ml.embeddings import backbone_imagenet_head, backbone_onnx, resolve_backbone
    from ml.tags import imagenet_categories, imagenet_class_table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--ood", required=True)
    parser.add_argument("--per-class", type=int, default=250, help="calibration photos per class")
    parser.add_argument("--precision", type=float, default=0.95)
    parser.add_argument("--out", default="bench/results/imagenet_tags_bench.md")
    args = parser.parse_args()
    cache = Path(tempfile.mkdtemp())
    backbone = resolve_backbone("efficientnet_lite0", 1.0, 224)
    source = backbone_onnx(backbone, cache)
    head = backbone_imagenet_head(backbone, cache)
    _, categories = imagenet_class_table()
    table = imagenet_categories()

    files, y, classes = photos(Path(args.data))
    rng = np.random.default_rng(0)
    picked = np.concatenate([rng.choice(np.flatnonzero(y == c), args.per_class, replace=False) for c in range(2)])
    expected = {"cat": "gato", "dog": "perro"}
    calibration = top_categories(embed([files[i] for i in picked], backbone, source), head, categories)
    right = np.array([category == expected[classes[y[i]]] for i, (category, _) in zip(picked, calibration)])
    confidence = np.array([p for _, p in calibration])
    threshold = next((float(t) for t in GRID if right[confidence >= t].mean() >= args.precision), float(GRID[-1]))

    ood_files = sorted(p for p in Path(args.ood).iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    named = top_categories(embed(ood_files, backbone, source), head, categories)
    groups = table["ood_dev_groups"]
    rows = defaultdict(lambda: {"n": 0, "match": 0, "said": 0, "said_match": 0})
    for path, (category, p) in zip(ood_files, named):
        prefix = path.stem.rsplit("_", 1)[0]
        match = category in groups[prefix]["categories"]
        row = rows[prefix]
        row["n"] += 1
        row["match"] += match
        row["said"] += p >= threshold
        row["said_match"] += match and p >= threshold
    mapped = [r for prefix, r in rows.items() if not groups[prefix]["report_apart"]]
    n, match = sum(r["n"] for r in mapped), sum(r["match"] for r in mapped)
    said, said_match = sum(r["said"] for r in mapped), sum(r["said_match"] for r in mapped)
    low, high = wilson(match, n)
    lines = [
        "# Content tags: what EfficientNet-Lite0's ImageNet classifier names, in coarse categories",
        "",
        f"`{' '.join(sys.argv)}`",
        "",
        f"**«No lo sé» threshold: {threshold:.2f}** (lowest top-category probability at which the category is "
        f"right on ≥ {args.precision:.0%} of {len(picked)} cat and dog photos; it is right on "
        f"{right[confidence >= threshold].mean():.1%} of the {int((confidence >= threshold).sum())} said, "
        f"{right.mean():.1%} of all). `ml/tags.py` `UNSURE_BELOW` holds it.",
        "",
        f"On `{Path(args.ood).name}` ({len(ood_files)} photos never used to choose): the top category falls in "
        f"the expected group for **{match}/{n} = {match / n:.1%}** [{low:.1%}, {high:.1%}] of the mapped photos; "
        f"above the threshold {said} of {n} are named and {said_match} of those are right "
        f"({said_match / max(said, 1):.1%}).",
        "",
        "| prefix | expected | photos | top category in group | named (≥ threshold) | named and right |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for prefix, r in sorted(rows.items()):
        expected_group = groups[prefix]["group"] or "reported apart: " + ", ".join(groups[prefix]["categories"])
        lines.append(f"| {prefix} | {expected_group} | {r['n']} | {r['match']} | {r['said']} | {r['said_match']} |")
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
