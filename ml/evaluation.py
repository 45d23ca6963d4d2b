"""Metrics with uncertainty: accuracy with a 95 % interval, per-class scores, confusion, latency."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np


def wilson_ci(correct: int, n: int, z: float = 1.96) -> list:
    """Return the Wilson score 95 % confidence interval of a proportion."""
    if n == 0:
        return [0.0, 1.0]
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [max(0.0, centre - half), min(1.0, centre + half)]


def classification_metrics(y_true, y_pred, classes: list) -> dict:
    """Return accuracy (with n and ci95), per-class precision/recall/F1 and the confusion matrix."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    labels = list(range(len(classes)))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    correct = int((y_true == y_pred).sum())
    n = int(len(y_true))
    return {
        "accuracy": correct / n if n else 0.0,
        "n": n,
        "correct": correct,
        "ci95": wilson_ci(correct, n),
        "per_class": {
            cls: {"precision": float(precision[i]), "recall": float(recall[i]),
                  "f1": float(f1[i]), "support": int(support[i])}
            for i, cls in enumerate(classes)
        },
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "confusion_matrix_axes": "rows: true class, columns: predicted class, in class order",
    }


def predict_proba(model, x: np.ndarray, batch_size: int = 64, tta: bool = False) -> np.ndarray:
    """Return class probabilities; with ``tta`` average them with the horizontally mirrored images."""
    probs = model.predict(x, batch_size=batch_size, verbose=0)
    if tta:
        probs = (probs + model.predict(x[:, :, ::-1, :], batch_size=batch_size, verbose=0)) / 2
    return probs


def latency_ms(model, x: np.ndarray, repeats: int = 30, warmup: int = 3) -> dict:
    """Time single-image calls of a Keras model (p50/p95 in milliseconds)."""
    from ml.timing import time_calls

    if len(x) == 0:
        return {"p50": None, "p95": None, "n": 0}
    return time_calls(lambda i: model(x[i % len(x)][None], training=False).numpy(), repeats, warmup)


def load_model_and_card(model_path: str | Path):
    """Load a saved Keras model and the card beside it (``card.json`` in the same folder)."""
    from ml.card import CARD_FILE, read_card
    from ml.errors import CARD_NOT_FOUND, MODEL_NOT_FOUND, MODEL_UNSUPPORTED, ModelError

    model_path = Path(model_path)
    if not model_path.is_file():
        raise ModelError(MODEL_NOT_FOUND.format(path=model_path))
    if model_path.suffix not in (".keras", ".h5"):
        raise ModelError(MODEL_UNSUPPORTED.format(path=model_path))
    card_path = model_path.parent / CARD_FILE
    if not card_path.is_file():
        raise ModelError(CARD_NOT_FOUND.format(path=card_path))
    from ml.backend import keras

    try:
        model = keras.models.load_model(model_path, compile=False)
    except (OSError, ValueError) as exc:
        raise ModelError(MODEL_UNSUPPORTED.format(path=model_path) + f" ({exc})") from exc
    return model, read_card(card_path)


def evaluate_saved_model(model_path: str | Path, data: str | Path, latency_repeats: int = 30) -> dict:
    """Evaluate a saved model on a folder or manifest (its holdout rows, if it has a split column)."""
    from ml.datasets import HOLDOUT, load_image_data, read_samples

    model, card = load_model_and_card(model_path)
    size = card["input"]["size"][0]
    samples = read_samples(data)
    if any(s.split is not None for s in samples):
        samples = [s for s in samples if s.split == HOLDOUT]
    images = load_image_data(samples, size, classes=card["classes"])
    tta = bool(card.get("config", {}).get("tta", False))
    probs = predict_proba(model, images.x, tta=tta)
    result = classification_metrics(images.y, probs.argmax(axis=1), images.classes)
    result.update({
        "classes": images.classes,
        "skipped": images.skipped,
        "tta": tta,
        "latency_ms": latency_ms(model, images.x, repeats=latency_repeats),
        "model": str(model_path),
    })
    return result


def predict_files(model_path: str | Path, paths: list, top_k: int = 3) -> list:
    """Return one result per image: the predicted class, its probability and the top-k; errors per file."""
    from ml.errors import DataError
    from ml.preprocess import preprocess_image

    model, card = load_model_and_card(model_path)
    size, classes = card["input"]["size"][0], card["classes"]
    tta = bool(card.get("config", {}).get("tta", False))
    results = []
    for path in paths:
        try:
            x = preprocess_image(path, size)[None]
        except DataError as exc:
            results.append({"image": str(path), "error": str(exc)})
            continue
        probs = predict_proba(model, x, tta=tta)[0]
        order = np.argsort(probs)[::-1][:top_k]
        results.append({
            "image": str(path),
            "label": classes[int(order[0])],
            "probability": float(probs[order[0]]),
            "top_k": [{"label": classes[int(i)], "probability": float(probs[i])} for i in order],
        })
    return results
