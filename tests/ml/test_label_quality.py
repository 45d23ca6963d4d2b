"""Label quality in the engine: alpha as the library computes it, leave-one-out agreement, flipped labels found."""
import krippendorff
import numpy as np
import pytest

from ml.label_quality import (
    agreement_with_others,
    alpha_per_class,
    krippendorff_alpha,
    label_issues,
    learning_curve,
    out_of_fold_probabilities,
)

NAN = np.nan
# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", nominal example: 4 coders, 12 units.
KRIPPENDORFF_TABLE = np.array([
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
    [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
])


def test_alpha_matches_the_library_and_the_published_value():
    """The nominal alpha of the published example is 0.743, the library's own value."""
    ours = krippendorff_alpha(KRIPPENDORFF_TABLE)
    assert ours == pytest.approx(krippendorff.alpha(reliability_data=KRIPPENDORFF_TABLE, level_of_measurement="nominal"))
    assert ours == pytest.approx(0.743, abs=1e-3)


def test_alpha_is_one_for_perfect_agreement_and_none_when_undefined():
    """Full agreement gives 1; no photo with two answers, or a single answer everywhere, gives None."""
    assert krippendorff_alpha(np.array([[0, 1, 1, 0], [0, 1, 1, 0]], float)) == pytest.approx(1.0)
    assert krippendorff_alpha(np.array([[0, NAN], [NAN, 1]])) is None
    assert krippendorff_alpha(np.array([[1, 1], [1, 1]], float)) is None
    assert krippendorff_alpha(np.zeros((0, 0))) is None


def test_alpha_per_class_is_the_binary_alpha_of_each_class():
    table = np.array([[0, 1, 2, 0, 1], [0, 1, 1, 0, 2], [0, 2, 2, 0, 1]], float)
    per_class = alpha_per_class(table, 3)
    expected = krippendorff.alpha(reliability_data=(table == 0).astype(float), level_of_measurement="nominal")
    assert per_class[0] == pytest.approx(expected)
    assert len(per_class) == 3


def test_agreement_leaves_the_person_out():
    """A person who always goes against the other two agrees 0 %; the two agree 100 % with each other."""
    table = np.array([[0, 1, 0, 1], [0, 1, 0, 1], [1, 0, 1, 0]], float)
    assert agreement_with_others(table) == [None, None, 0.0]  # the first two tie against each other's partner
    table = np.vstack([table, [0, 1, 0, 1]])
    assert agreement_with_others(table) == [1.0, 1.0, 0.0, 1.0]


def _separable(seed=0, n=300, d=16, shift=2.5):
    rng = np.random.default_rng(seed)
    x = np.vstack([rng.normal(0, 1, (n // 2, d)), rng.normal(shift, 1, (n // 2, d))])
    y = np.repeat([0, 1], n // 2)
    return x, y, rng


def test_flipped_labels_on_a_separable_set_are_found():
    """With 10 % of the labels flipped, the flipped ones fill the top of the ranking and are flagged."""
    x, y, rng = _separable()
    flipped = rng.choice(len(y), 30, replace=False)
    noisy = y.copy()
    noisy[flipped] = 1 - noisy[flipped]
    probabilities = out_of_fold_probabilities(x, noisy, 2)
    issues = label_issues(noisy, probabilities)
    assert np.isin(issues.order[:30], flipped).mean() >= 0.9
    assert np.isin(np.flatnonzero(issues.flagged), flipped).mean() >= 0.9
    assert (issues.suggested[flipped] == y[flipped]).mean() >= 0.9


def test_out_of_fold_needs_two_photos_per_class():
    x, y, _ = _separable(n=10)
    y[:] = 0
    y[0] = 1
    assert out_of_fold_probabilities(x, y, 2) is None


def test_learning_curve_skips_single_class_steps_and_improves():
    x, y, rng = _separable(seed=1, n=400, shift=1.0)
    order = rng.permutation(300)
    points = learning_curve(x[order], y[order], x[300:], y[300:], [1, 20, 300])
    assert [p["labels"] for p in points] == [20, 300]
    assert points[-1]["accuracy"] >= 0.8


def test_mirror_views_keep_each_photo_out_of_its_own_fold():
    """With mirror embeddings the probabilities are still out of fold: flipped labels stay on top, rows sum to 1."""
    x, y, rng = _separable(seed=2)
    mirror = x + rng.normal(0, 0.1, x.shape)
    flipped = rng.choice(len(y), 30, replace=False)
    noisy = y.copy()
    noisy[flipped] = 1 - noisy[flipped]
    probabilities = out_of_fold_probabilities(x, noisy, 2, mirror=mirror)
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    assert np.isin(label_issues(noisy, probabilities).order[:30], flipped).mean() >= 0.9
