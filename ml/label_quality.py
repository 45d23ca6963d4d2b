"""How trustworthy a class's labels are: agreement between people and labels that are probably wrong.

Arrays in, numbers out. Agreement is Krippendorff's alpha (the ``krippendorff`` package) on a
reliability table: one row per person, one column per photo, the answer's index or NaN where
that person gave none. Likely-wrong labels come from out-of-fold probabilities of a logistic
regression on the photos' embeddings, ranked by ``cleanlab`` (confident learning).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

QUICK_C = 0.05  # strong regularisation: frozen-feature heads overfit a few hundred photos at sklearn's C=1
FOLDS = 5  # out-of-fold: each photo is judged by a model that never saw its label
# Candidates for the regularisation chosen by cross-validation on the labels being judged; on noisy
# labels the choice lands low (0.003-0.01 on the label benchmark), where flipped labels cannot be memorised.
C_GRID = (0.001, 0.003, 0.01, 0.03, 0.1)


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


def quick_classifier(C: float = QUICK_C, seed: int = 0):
    """Return the class-balanced logistic regression used to judge labels (scikit-learn, unfitted)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(
        StandardScaler(),
        LogisticRegression(C=C, max_iter=2000, class_weight="balanced", random_state=seed),
    )


def choose_C(embeddings: np.ndarray, labels: np.ndarray, *, folds: int = 3, seed: int = 0) -> float:
    """Return the C of ``C_GRID`` with the best cross-validated log-loss on these labels."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    counts = np.bincount(np.asarray(labels, np.int64))
    splitter = StratifiedKFold(n_splits=int(min(folds, counts[counts > 0].min())), shuffle=True, random_state=seed)
    scores = [cross_val_score(quick_classifier(C, seed), embeddings, labels, cv=splitter, scoring="neg_log_loss").mean()
              for C in C_GRID]
    return float(C_GRID[int(np.argmax(scores))])


def out_of_fold_probabilities(embeddings: np.ndarray, labels: np.ndarray, n_classes: int, *, folds: int = FOLDS,
                              C: float | None = None, seed: int = 0, mirror: np.ndarray | None = None) -> np.ndarray | None:
    """Return (n, n_classes) probabilities, each row from a model fitted without that photo.

    ``C`` None: chosen by cross-validation on the same labels (``choose_C``). With ``mirror`` (the
    embeddings of the mirrored photos) each model trains on both views and a photo's probabilities
    are the mean over its two views; a photo and its mirror always fall in the same fold. None when
    some class has fewer than two photos (no fold split can hold it out and keep it).
    """
    from sklearn.model_selection import StratifiedKFold

    labels = np.asarray(labels, np.int64)
    embeddings = np.asarray(embeddings)
    counts = np.bincount(labels, minlength=n_classes)
    if len(labels) == 0 or counts.min() < 2:
        return None
    if C is None:
        C = choose_C(embeddings, labels, seed=seed)
    splitter = StratifiedKFold(n_splits=int(min(folds, counts.min())), shuffle=True, random_state=seed)
    probabilities = np.zeros((len(labels), n_classes))
    for train, test in splitter.split(embeddings, labels):
        x, y = embeddings[train], labels[train]
        if mirror is not None:
            x, y = np.vstack([x, mirror[train]]), np.concatenate([y, y])
        model = quick_classifier(C, seed).fit(x, y)
        columns = model.classes_
        probabilities[np.ix_(test, columns)] = model.predict_proba(embeddings[test])
        if mirror is not None:
            probabilities[np.ix_(test, columns)] = (probabilities[np.ix_(test, columns)]
                                                    + model.predict_proba(mirror[test])) / 2
    return probabilities


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
                   steps: list[int], *, C: float = QUICK_C) -> list[dict]:
    """Return the holdout accuracy of the quick classifier fitted on the first n labels, for each n in steps.

    The rows of ``train_x`` are in the order the labels were given; a step with a single class
    (nothing to separate yet) is left out.
    """
    points = []
    for n in steps:
        y = np.asarray(train_y[:n])
        if len(np.unique(y)) < 2 or len(test_y) == 0:
            continue
        model = quick_classifier(C).fit(train_x[:n], y)
        points.append({"labels": int(n), "accuracy": float((model.predict(test_x) == test_y).mean())})
    return points
