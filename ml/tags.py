"""Multi-label tags on the embedding, and ImageNet labels from a pretrained classifier.

Project tags: one logistic (sigmoid) unit per tag on the served model's embedding,
fitted with scikit-learn and written as a two-node ONNX graph (``Gemm`` then
``Sigmoid``) so the server runs it with ONNX Runtime. Each tag's decision
threshold is the one that maximises F1 on validation images.

ImageNet labels: when the backbone's ImageNet classifier ships with its weights
(EfficientNet-Lite's ``_fc``), it is applied to the pooled features of the frozen
backbone: top-k English names, each class's coarse category (``data/imagenet_categories.json``:
a few dozen WordNet synsets, each of the 1,000 classes assigned by its hypernym chain), the
categories' summed probabilities, and «unsure» when no category is confident enough.
Neither part imports TensorFlow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ml.runtime import IMAGENET_HEAD_FILE, IMAGENET_LABELS_FILE, TAGS_FILE
from ml.runtime import TAGS_INPUT_NAME as INPUT_NAME

IMAGENET_TOP_K = 5
CATEGORIES_FILE = Path(__file__).parent / "data" / "imagenet_categories.json"
# Below this summed probability the top category is not said: «no lo sé». Calibrated by
# bench/imagenet_tags_bench.py on cat and dog photos (not on the photos it reports on).
UNSURE_BELOW = 0.6
OUTPUT_NAMES = ("tag_logits", "tag_probabilities")
MIN_POSITIVES = 8  # fewer examples than this cannot support a per-tag threshold
MIN_NEGATIVES = 8  # a tag on every image carries no information
REGULARIZATION = 1.0  # inverse L2 strength of the logistic units (scikit-learn's C)
OPSET = 17


@dataclass
class TagHead:
    """Sigmoid units on the embedding with one threshold per tag."""

    tags: list[str]
    kernel: np.ndarray  # (dim, tags), applied to raw embeddings (standardisation folded in)
    bias: np.ndarray  # (tags,)
    thresholds: np.ndarray  # (tags,)
    validation: dict

    def probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        """Return per-tag probabilities for a batch of embeddings."""
        logits = np.atleast_2d(np.asarray(embeddings, np.float64)) @ self.kernel + self.bias
        return 1.0 / (1.0 + np.exp(-logits))

    def summary(self) -> dict:
        """Describe the head for the model card."""
        return {
            "trained": True,
            "file": TAGS_FILE,
            "input": INPUT_NAME,
            "outputs": list(OUTPUT_NAMES),
            "tags": list(self.tags),
            "thresholds": {t: float(v) for t, v in zip(self.tags, self.thresholds, strict=True)},
            "validation": self.validation,
        }


def tag_support(tag_lists: list[list[str]]) -> dict[str, int]:
    """Count how many images carry each tag."""
    counts: dict[str, int] = {}
    for tags in tag_lists:
        for tag in set(tags):
            counts[tag] = counts.get(tag, 0) + 1
    return dict(sorted(counts.items()))


def usable_tags(
    tag_lists: list[list[str]], min_positives: int = MIN_POSITIVES, min_negatives: int = MIN_NEGATIVES
) -> list[str]:
    """Return the tags with enough positive and negative training examples."""
    total = len(tag_lists)
    return [t for t, n in tag_support(tag_lists).items() if n >= min_positives and total - n >= min_negatives]


def _targets(tag_lists: list[list[str]], tags: list[str]) -> np.ndarray:
    return np.array([[tag in set(item) for tag in tags] for item in tag_lists], dtype=np.int64)


def _best_threshold(probabilities: np.ndarray, truth: np.ndarray) -> tuple[float, dict]:
    """Return the threshold with the highest F1 on validation data, and its metrics."""
    best = (0.5, {"f1": -1.0})
    for threshold in np.unique(np.round(probabilities, 4)):
        predicted = probabilities >= threshold
        tp = int((predicted & (truth == 1)).sum())
        fp = int((predicted & (truth == 0)).sum())
        fn = int((~predicted & (truth == 1)).sum())
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        if f1 > best[1]["f1"]:
            best = (float(threshold), {"precision": precision, "recall": recall, "f1": f1, "support": int(truth.sum())})
    return best


def fit_tag_head(
    train_embeddings: np.ndarray,
    train_tags: list[list[str]],
    val_embeddings: np.ndarray,
    val_tags: list[list[str]],
    min_positives: int = MIN_POSITIVES,
    min_negatives: int = MIN_NEGATIVES,
) -> TagHead | None:
    """Fit one sigmoid unit per usable tag; return None when no tag has enough examples."""
    from sklearn.linear_model import LogisticRegression

    tags = usable_tags(train_tags, min_positives, min_negatives)
    if not tags:
        return None
    x = np.asarray(train_embeddings, np.float64)
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-6
    y = _targets(train_tags, tags)
    kernel = np.zeros((x.shape[1], len(tags)))
    bias = np.zeros(len(tags))
    for j in range(len(tags)):
        unit = LogisticRegression(C=REGULARIZATION, max_iter=2000, class_weight="balanced")
        unit.fit((x - mean) / std, y[:, j])
        # Fold the standardisation into the weights so the server feeds raw embeddings.
        kernel[:, j] = unit.coef_[0] / std
        bias[j] = unit.intercept_[0] - float((unit.coef_[0] * mean / std).sum())
    head = TagHead(tags, kernel, bias, np.full(len(tags), 0.5), {})
    val_probs = head.probabilities(val_embeddings)
    val_truth = _targets(val_tags, tags)
    thresholds, validation = [], {}
    for j, tag in enumerate(tags):
        if val_truth[:, j].sum() == 0:
            thresholds.append(0.5)  # no positive to tune on: keep the neutral threshold
            validation[tag] = {"support": 0}
            continue
        threshold, metrics = _best_threshold(val_probs[:, j], val_truth[:, j])
        thresholds.append(threshold)
        validation[tag] = metrics
    head.thresholds = np.array(thresholds)
    head.validation = validation
    return head


def export_tag_head(head: TagHead, path: str | Path) -> Path:
    """Write the head as ONNX: ``embedding`` -> ``tag_logits`` -> ``tag_probabilities``."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    dim, count = head.kernel.shape
    graph = helper.make_graph(
        [
            helper.make_node("Gemm", [INPUT_NAME, "kernel", "bias"], [OUTPUT_NAMES[0]]),
            helper.make_node("Sigmoid", [OUTPUT_NAMES[0]], [OUTPUT_NAMES[1]]),
        ],
        "tags",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["batch", dim])],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", count]) for name in OUTPUT_NAMES],
        initializer=[
            numpy_helper.from_array(head.kernel.astype(np.float32), "kernel"),
            numpy_helper.from_array(head.bias.astype(np.float32), "bias"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="riim")
    model.metadata_props.add(key="tags", value=json.dumps(head.tags))
    model.metadata_props.add(key="thresholds", value=json.dumps([float(t) for t in head.thresholds]))
    onnx.checker.check_model(model)
    path = Path(path)
    onnx.save(model, path)
    return path


def read_tag_metadata(path: str | Path) -> tuple[list[str], np.ndarray]:
    """Return the tag names and thresholds stored in a ``tags.onnx``."""
    import onnx

    props = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
    return json.loads(props["tags"]), np.array(json.loads(props["thresholds"]), np.float32)


def decide(probabilities: np.ndarray, tags: list[str], thresholds: np.ndarray) -> list[dict]:
    """Return every tag with its probability and whether it passes its threshold (one image)."""
    probabilities = np.asarray(probabilities).reshape(-1)
    return [
        {"tag": tag, "probability": float(p), "threshold": float(t), "present": bool(p >= t)}
        for tag, p, t in zip(tags, probabilities, thresholds, strict=True)
    ]


# --- ImageNet labels ---------------------------------------------------------


def load_class_index(path: str | Path, translations: str | Path | None = None) -> list[str]:
    """Return ImageNet class names by index from ``imagenet_class_index.json``.

    ``translations`` is an optional JSON object mapping the WordNet id or the English
    name to a translated name; classes without a translation keep their English name.
    """
    index = json.loads(Path(path).read_text(encoding="utf-8"))
    names = [index[str(i)][1].replace("_", " ") for i in range(len(index))]
    if translations is None:
        return names
    table = json.loads(Path(translations).read_text(encoding="utf-8"))
    wnids = [index[str(i)][0] for i in range(len(index))]
    return [table.get(wnid, table.get(name, name)) for wnid, name in zip(wnids, names, strict=True)]


def save_imagenet_head(path: str | Path, kernel: np.ndarray, bias: np.ndarray) -> Path:
    """Store an ImageNet classifier's final layer as (dim, classes) kernel and bias."""
    kernel = np.asarray(kernel, np.float32)
    # MobileNet's classifier is a 1x1 convolution; flatten it to a dense kernel.
    kernel = kernel.reshape(-1, kernel.shape[-1])
    path = Path(path)
    np.savez(path, kernel=kernel, bias=np.asarray(bias, np.float32))
    return path


def load_imagenet_head(head_path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Return the ImageNet classifier's kernel (features, 1000) and bias from its ``.npz``."""
    with np.load(Path(head_path)) as data:
        return np.asarray(data["kernel"], np.float64), np.asarray(data["bias"], np.float64)


def imagenet_top_k(
    embedding: np.ndarray, head: str | Path | tuple[np.ndarray, np.ndarray], names: list[str], k: int = 5
) -> list[dict]:
    """Return the top-k ImageNet labels for one pooled-feature vector.

    ``head`` is the head file or its already loaded (kernel, bias), as a server keeps them.
    """
    kernel, bias = head if isinstance(head, tuple) else load_imagenet_head(head)
    if kernel.shape[1] != len(names):
        raise ValueError(f"the head has {kernel.shape[1]} classes, the index {len(names)}")
    probs = imagenet_probabilities(embedding, (kernel, bias))
    order = np.argsort(-probs)[:k]
    return [{"index": int(i), "label": names[i], "probability": float(probs[i])} for i in order]


@lru_cache(maxsize=1)
def imagenet_categories() -> dict:
    """Return the committed table of ImageNet classes and their coarse categories (see its generator)."""
    return json.loads(CATEGORIES_FILE.read_text(encoding="utf-8"))


def imagenet_class_table() -> tuple[list[str], list[str]]:
    """Return the 1,000 ImageNet classes' English names and coarse category keys, by output index."""
    rows = sorted(imagenet_categories()["classes"].values(), key=lambda row: row["index"])
    return [row["name"] for row in rows], [row["category"] for row in rows]


def write_imagenet_tags(
    out_dir: str | Path,
    kernel: np.ndarray,
    bias: np.ndarray,
    class_index: str | Path | None = None,
    translations: str | Path | None = None,
    k: int = IMAGENET_TOP_K,
    unsure_below: float = UNSURE_BELOW,
) -> dict:
    """Store an ImageNet classifier head and its label names beside a model; return the card section.

    The head must take the served model's ``embedding`` (the frozen backbone's pooled features),
    as the backbone's own classifier does. Names come from ``class_index`` when given, otherwise
    from the categories table, which also gives each class's coarse category.
    """
    out_dir = Path(out_dir)
    table_names, categories = imagenet_class_table()
    names = load_class_index(class_index, translations) if class_index is not None else table_names
    save_imagenet_head(out_dir / IMAGENET_HEAD_FILE, kernel, bias)
    document = {"labels": names, "top_k": k}
    if len(names) == len(categories):
        document.update({"categories": categories, "unsure_below": unsure_below})
    (out_dir / IMAGENET_LABELS_FILE).write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return {
        "enabled": True,
        "head": IMAGENET_HEAD_FILE,
        "labels": IMAGENET_LABELS_FILE,
        "classes": len(names),
        "top_k": k,
        "language": "es" if translations else "en",
        "categories": "categories" in document,
        "unsure_below": unsure_below,
    }


def imagenet_probabilities(embedding: np.ndarray, head: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Return the 1,000 ImageNet probabilities of one pooled-feature vector."""
    kernel, bias = head
    logits = np.asarray(embedding, np.float64).reshape(-1) @ kernel + bias
    probs = np.exp(logits - logits.max())
    return probs / probs.sum()


def coarse_categories(probabilities: np.ndarray, categories: list[str], k: int = 3) -> list[dict]:
    """Return the ``k`` coarse categories with the most probability, each the sum of its classes'."""
    totals: dict[str, float] = {}
    for category, p in zip(categories, probabilities, strict=True):
        totals[category] = totals.get(category, 0.0) + float(p)
    ranked = sorted(totals.items(), key=lambda item: -item[1])[:k]
    return [{"category": category, "probability": p} for category, p in ranked]


def load_imagenet_labels(folder: str | Path) -> tuple[list[str], int] | None:
    """Return the ImageNet label names and k stored in a model folder, or None when tags are off."""
    folder = Path(folder)
    if not ((folder / IMAGENET_HEAD_FILE).is_file() and (folder / IMAGENET_LABELS_FILE).is_file()):
        return None
    data = json.loads((folder / IMAGENET_LABELS_FILE).read_text(encoding="utf-8"))
    return list(data["labels"]), int(data.get("top_k", IMAGENET_TOP_K))


def load_imagenet_categories(folder: str | Path) -> tuple[list[str], float] | None:
    """Return each class's coarse category and the «unsure» threshold stored in a model folder, or None."""
    path = Path(folder) / IMAGENET_LABELS_FILE
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    if "categories" not in data:
        return None
    return list(data["categories"]), float(data.get("unsure_below", UNSURE_BELOW))
