"""The lab's fast experiments on cached embeddings: overfitting, noisy labels and single splits.

``features`` maps an augmentation name (see ``ml.lab.augment.VARIANTS``) to an
(n, d) array of embeddings of the same n images; ``labels`` are class indices.
"""

from __future__ import annotations

import numpy as np

from ml.lab.heads import HeadConfig, fit_head, head_accuracy
from ml.validation import spread

OVERFIT_PER_CLASS = 8  # a deliberately small training subset, so memorising is easy
OVERFIT_EPOCHS = 60
NOISE_FRACTIONS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)


def _subset(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    chosen = []
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        chosen.extend(rng.choice(members, size=min(per_class, len(members)), replace=False))
    return np.sort(np.asarray(chosen, np.int64))


def overfitting_experiment(
    train_features: dict[str, np.ndarray],
    train_labels: np.ndarray,
    val_features: np.ndarray,
    val_labels: np.ndarray,
    classes: int,
    per_class: int = OVERFIT_PER_CLASS,
    epochs: int = OVERFIT_EPOCHS,
    seed: int = 0,
) -> dict:
    """Train the same head on a small subset twice: plain, then with augmented copies and dropout."""
    rng = np.random.default_rng(seed)
    subset = _subset(train_labels, per_class, rng)
    plain_x = train_features["original"][subset]
    plain_y = train_labels[subset]
    extra = [name for name in train_features if name != "original"]
    aug_x = np.concatenate([train_features[name][subset] for name in ["original", *extra]])
    aug_y = np.concatenate([plain_y] * (1 + len(extra)))
    validation = (val_features, val_labels)
    base = HeadConfig(hidden=64, epochs=epochs, learning_rate=0.05, l2=0.0, seed=seed)
    _, plain = fit_head(plain_x, plain_y, classes, base, validation)
    regular = HeadConfig(hidden=64, epochs=epochs, learning_rate=0.05, l2=1e-3, dropout=0.5, seed=seed)
    _, regularized = fit_head(aug_x, aug_y, classes, regular, validation)
    return {
        "subset_size": int(len(subset)),
        "augmented_size": int(len(aug_x)),
        "augmentations": extra,
        "validation_size": int(len(val_labels)),
        "plain": plain,
        "regularized": regularized,
    }


def flip_labels(labels: np.ndarray, fraction: float, classes: int, rng: np.random.Generator) -> np.ndarray:
    """Return a copy where a fraction of the labels is changed to a different, random class."""
    noisy = np.array(labels, copy=True)
    count = int(round(fraction * len(labels)))
    if count == 0 or classes < 2:
        return noisy
    chosen = rng.choice(len(labels), size=count, replace=False)
    shift = rng.integers(1, classes, size=count)
    noisy[chosen] = (noisy[chosen] + shift) % classes
    return noisy


def label_noise_experiment(
    train_x: np.ndarray,
    train_y: np.ndarray,
    test_x: np.ndarray,
    test_y: np.ndarray,
    classes: int,
    fractions=NOISE_FRACTIONS,
    repeats: int = 3,
    seed: int = 0,
    progress=None,
) -> dict:
    """Retrain the head with a growing fraction of wrong labels; return test accuracy per fraction."""
    rows = []
    config = HeadConfig(hidden=32, epochs=30, l2=1e-3, seed=seed)
    for i, fraction in enumerate(fractions):
        scores = []
        for repeat in range(repeats):
            rng = np.random.default_rng(seed * 1000 + repeat)
            noisy = flip_labels(train_y, fraction, classes, rng)
            head, _ = fit_head(train_x, noisy, classes, HeadConfig(**{**config.__dict__, "seed": seed + repeat}))
            scores.append(head_accuracy(head, test_x, test_y))
        rows.append(
            {
                "fraction": float(fraction),
                "flipped": int(round(fraction * len(train_y))),
                "accuracy": float(np.mean(scores)),
                "std": spread(scores)["std"],
            }
        )
        if progress:
            progress((i + 1) / len(fractions), f"{fraction:.0%}")
    return {"rows": rows, "train_size": int(len(train_y)), "test_size": int(len(test_y)), "repeats": repeats}


def split_spread(
    x: np.ndarray,
    y: np.ndarray,
    classes: int,
    splits: int = 12,
    test_fraction: float = 0.2,
    folds: int = 5,
    seed: int = 0,
) -> dict:
    """Score the head on many different single splits and by k-fold; show how much one split can vary."""
    from sklearn.model_selection import StratifiedKFold, train_test_split

    config = HeadConfig(hidden=32, epochs=25, l2=1e-3, seed=seed)
    singles = []
    for i in range(splits):
        xa, xb, ya, yb = train_test_split(x, y, test_size=test_fraction, random_state=seed + i, stratify=y)
        head, _ = fit_head(xa, ya, classes, config)
        singles.append(head_accuracy(head, xb, yb))
    smallest = int(np.bincount(y).min())
    k = max(2, min(folds, smallest))
    per_fold = []
    for fold, (a, b) in enumerate(StratifiedKFold(k, shuffle=True, random_state=seed).split(x, y), start=1):
        head, _ = fit_head(x[a], y[a], classes, config)
        per_fold.append({"fold": fold, "accuracy": head_accuracy(head, x[b], y[b]), "n": int(len(b))})
    fold_scores = np.array([row["accuracy"] for row in per_fold])
    return {
        "single_splits": [float(s) for s in singles],
        "single_min": float(np.min(singles)),
        "single_max": float(np.max(singles)),
        "test_size": int(round(test_fraction * len(y))),
        "kfold": {"k": k, "per_fold": per_fold, **spread(fold_scores)},
    }


def fold_summary(per_fold: list[dict]) -> dict:
    """Return mean, standard deviation, minimum and maximum of the per-fold accuracies of a card."""
    scores = np.array([float(row["accuracy"]) for row in per_fold]) if per_fold else np.zeros(0)
    if scores.size == 0:
        return {"mean": None, "std": None, "min": None, "max": None}
    # The same mean ± std as the card's (ml.validation), so the lab and the versions page agree.
    return {
        **spread(scores),
        "min": float(scores.min()),
        "max": float(scores.max()),
    }
