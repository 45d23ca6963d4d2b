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


NEAR_CHANCE_MARGIN = 0.15  # a holdout score less than this above guessing (1/k) is not a model to trust


def near_chance(accuracy: float | None, num_classes: int) -> bool:
    """Return whether a holdout accuracy is within ``NEAR_CHANCE_MARGIN`` of guessing among ``num_classes``."""
    if accuracy is None or num_classes < 2:
        return False
    return accuracy < 1.0 / num_classes + NEAR_CHANCE_MARGIN


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
