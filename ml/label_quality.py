"""How trustworthy a class's labels are: agreement between people and labels that are probably wrong.

Arrays in, numbers out. Agreement is Krippendorff's alpha (the ``krippendorff`` package) on a
reliability table: one row per person, one column per photo, the answer's index or NaN where
that person gave none. Likely-wrong labels come from out-of-fold probabilities of the quick model's
own classifier (``ml.quick.fit_quick_head``: the one logistic head the platform serves, its C and
temperature chosen as served), ranked by ``cleanlab`` (confident learning).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FOLDS = 5  # out-of-fold: each photo is judged by a model that never saw its label


def _pairable_units(table: np.ndarray) -> np.ndarray:
    return np.sum(~np.isnan(table), axis=0) >= 2


def krippendorff_alpha(table: np.ndarray) -> float | None:
    """Return nominal Krippendorff's alpha of a (people, photos) table, or None when it is undefined.

    Undefined: no photo with two answers, or every answer the same (no variation to agree on).
    """
    import krippendorff

    table = np.asarray(table, np.float64)
    if table.ndim != 2 or table.shape[0] < 2 or not _pairable_units(table).any():
        return None
    pairable = table[:, _pairable_units(table)]
    if len(np.unique(pairable[~np.isnan(pairable)])) < 2:
        return None
    value = float(krippendorff.alpha(reliability_data=pairable, level_of_measurement="nominal"))
    return value if np.isfinite(value) else None


def alpha_per_class(table: np.ndarray, n_values: int) -> list[float | None]:
    """Return alpha of "is it this class or not" for each answer index 0..n_values-1."""
    table = np.asarray(table, np.float64)
    result = []
    for value in range(n_values):
        binary = np.where(np.isnan(table), np.nan, (table == value).astype(np.float64))
        result.append(krippendorff_alpha(binary))
    return result


def majority(answers: np.ndarray) -> float:
    """Return the most given answer of one column (NaN when none, or when the top two tie)."""
    answers = answers[~np.isnan(answers)]
    if len(answers) == 0:
        return np.nan
    values, counts = np.unique(answers, return_counts=True)
    order = np.argsort(-counts)
    if len(order) > 1 and counts[order[0]] == counts[order[1]]:
        return np.nan
    return float(values[order[0]])


def agreement_with_others(table: np.ndarray) -> list[float | None]:
    """Return, per person, the share of their answers equal to the majority of the *other* people.

    Leaving the person out keeps a student from agreeing with themselves; photos where the others
    gave no answer or tie do not count. None when no photo counts.
    """
    table = np.asarray(table, np.float64)
    result = []
    for person in range(table.shape[0]):
        others = np.delete(table, person, axis=0)
        matches = total = 0
        for column in np.flatnonzero(~np.isnan(table[person])):
            consensus = majority(others[:, column]) if len(others) else np.nan
            if np.isnan(consensus):
                continue
            total += 1
            matches += int(table[person, column] == consensus)
        result.append(matches / total if total else None)
    return result


def out_of_fold_probabilities(embeddings: np.ndarray, labels: np.ndarray, n_classes: int, *, folds: int = FOLDS,
                              seed: int = 0, mirror: np.ndarray | None = None) -> np.ndarray | None:
    """Return (n, n_classes) probabilities, each row from the quick head fitted without that photo.

    They are the quick head's own cross-validation (photo and mirror in the same fold, mirror-averaged
    at the chosen temperature). Without ``mirror`` the photo stands for its mirror. None when some
    class has fewer than two photos (no fold split can hold it out and keep it).
    """
    from ml.quick import fit_quick_head

    labels = np.asarray(labels, np.int64)
    counts = np.bincount(labels, minlength=n_classes)
    if len(labels) == 0 or counts.min() < 2:
        return None
    embeddings = np.asarray(embeddings, np.float32)
    mirror = embeddings if mirror is None else np.asarray(mirror, np.float32)
    return fit_quick_head(embeddings, mirror, labels, n_classes, seed=seed, folds=folds).oof_probabilities


@dataclass(frozen=True)
class LabelIssues:
    """Every label ranked from most to least suspect, and which ones confident learning flags."""

    order: np.ndarray  # indices into the labels, most suspect first
    score: np.ndarray  # per label: 1 - the out-of-fold probability of the given class (higher: more suspect)
    flagged: np.ndarray  # per label: cleanlab finds it a likely label error
    suggested: np.ndarray  # per label: the most probable class out of fold


def label_issues(labels: np.ndarray, probabilities: np.ndarray) -> LabelIssues:
    """Rank labels by how likely they are wrong, from out-of-fold probabilities (cleanlab)."""
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    labels = np.asarray(labels, np.int64)
    probabilities = np.asarray(probabilities, np.float64)
    quality = get_label_quality_scores(labels, probabilities, method="self_confidence")
    flagged = find_label_issues(labels, probabilities, filter_by="prune_by_noise_rate")
    order = np.lexsort((quality, ~flagged))  # flagged first, then lowest quality
    return LabelIssues(order=order, score=1.0 - quality, flagged=np.asarray(flagged, bool),
                       suggested=probabilities.argmax(axis=1))


def learning_curve(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray,
                   steps: list[int], *, train_mirror: np.ndarray | None = None,
                   test_mirror: np.ndarray | None = None, n_classes: int | None = None) -> list[dict]:
    """Return the test accuracy of the quick head fitted on the first n labels, for each n in steps.

    The rows of ``train_x`` are in the order the labels were given; a step missing a class (nothing
    to separate yet) is left out. C is the one the quick head chooses on all the labels, kept for
    every step so the curve shows the labels' effect, not the grid's.
    """
    from ml.quick import fit_quick_head

    train_y, test_y = np.asarray(train_y, np.int64), np.asarray(test_y, np.int64)
    n_classes = n_classes or int(max(train_y.max(initial=0), test_y.max(initial=0)) + 1)
    train_mirror = train_x if train_mirror is None else train_mirror
    test_mirror = test_x if test_mirror is None else test_mirror
    if len(test_y) == 0 or len(np.unique(train_y)) < n_classes:
        return []
    c = fit_quick_head(train_x, train_mirror, train_y, n_classes).c
    points = []
    for n in steps:
        y = train_y[:n]
        if len(np.unique(y)) < n_classes:
            continue
        head = fit_quick_head(train_x[:n], train_mirror[:n], y, n_classes, folds=1, cs=(c,))
        points.append({"labels": int(n), "accuracy": float((head.predict_proba(test_x, test_mirror).argmax(1)
                                                             == test_y).mean())})
    return points
