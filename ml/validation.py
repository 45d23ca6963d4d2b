"""Stratified k-fold cross-validation, cheap enough to run on every retrain.

Pretrained backbones: the frozen backbone's pooled features are computed once and the
head alone is cross-validated on them. This validates the head on frozen features, not
the fine-tuned network. Scratch models: each fold is a short training from random weights.
"""

from __future__ import annotations

import math

import numpy as np

FEATURES_METHOD = "head on frozen backbone features (cached once); validates the head, not the fine-tuned network"
SCRATCH_METHOD = "short training of the scratch network per fold ({epochs} epochs)"


def effective_folds(y: np.ndarray, folds: int) -> int:
    """Return k limited by the smallest class (stratification needs one sample per class per fold)."""
    smallest = int(np.bincount(y).min()) if len(y) else 0
    return max(0, min(folds, smallest)) if smallest >= 2 else 0


def _stratified_folds(y: np.ndarray, k: int, seed: int):
    from sklearn.model_selection import StratifiedKFold

    return StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y)


def spread(values) -> dict:
    """Return the mean and the sample standard deviation (n - 1) of fold scores: the one "± std" shown everywhere."""
    array = np.asarray(values, dtype=float)
    return {"mean": float(array.mean()), "std": float(array.std(ddof=1)) if array.size > 1 else 0.0}


def summarize(per_fold: list, k_requested: int, method: str) -> dict:
    """Return per-fold results with mean and standard deviation of accuracy and loss."""
    return {
        "k": len(per_fold),
        "k_requested": k_requested,
        "method": method,
        "per_fold": per_fold,
        "accuracy": spread([f["accuracy"] for f in per_fold]),
        "loss": spread([f["loss"] for f in per_fold]),
    }


MIN_HEAD_STEPS = 150  # optimizer steps per fold at least: the head on cached features is cheap


def kfold_head_on_features(features: np.ndarray, y: np.ndarray, num_classes: int, folds: int, seed: int,
                           dropout: float, l2: float, learning_rate: float, epochs: int,
                           batch_size: int = 64) -> dict | None:
    """Cross-validate the dense head on cached features; return the summary (None if k < 2)."""
    from ml.backend import keras
    from ml.models import build_head, compile_model

    k = effective_folds(y, folds)
    if k < 2:
        return None
    per_fold = []
    for fold, (train_idx, val_idx) in enumerate(_stratified_folds(y, k, seed), start=1):
        keras.utils.set_random_seed(seed + fold)
        head = compile_model(build_head(features.shape[1], num_classes, dropout, l2), learning_rate)
        # A class's few dozen photos make one batch per epoch: give the head enough steps to converge.
        steps_per_epoch = math.ceil(len(train_idx) / batch_size)
        fold_epochs = max(epochs, math.ceil(MIN_HEAD_STEPS / steps_per_epoch))
        head.fit(features[train_idx], y[train_idx], epochs=fold_epochs, batch_size=batch_size, verbose=0)
        loss, acc = head.evaluate(features[val_idx], y[val_idx], batch_size=256, verbose=0)
        per_fold.append({"fold": fold, "accuracy": float(acc), "loss": float(loss), "n": int(len(val_idx))})
    return summarize(per_fold, folds, FEATURES_METHOD)


def kfold_short_training(x: np.ndarray, y: np.ndarray, folds: int, seed: int, build_model, epochs: int,
                         batch_size: int, augmentation=None, on_fold=None) -> dict | None:
    """Cross-validate a network by a short training per fold; ``build_model()`` returns a compiled model."""
    from ml.backend import keras
    from ml.datasets import make_tf_dataset

    k = effective_folds(y, folds)
    if k < 2:
        return None
    per_fold = []
    for fold, (train_idx, val_idx) in enumerate(_stratified_folds(y, k, seed), start=1):
        keras.utils.set_random_seed(seed + fold)
        model = build_model()
        train_ds = make_tf_dataset(x[train_idx], y[train_idx], batch_size, True, seed + fold, augmentation)
        model.fit(train_ds, epochs=epochs, verbose=0)
        loss, acc = model.evaluate(x[val_idx], y[val_idx], batch_size=64, verbose=0)
        per_fold.append({"fold": fold, "accuracy": float(acc), "loss": float(loss), "n": int(len(val_idx))})
        if on_fold:
            on_fold(fold, k)
    return summarize(per_fold, folds, SCRATCH_METHOD.format(epochs=epochs))
