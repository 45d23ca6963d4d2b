"""Active learning scores: arrays in, arrays out."""
import numpy as np

from ml.active_learning import anomaly_scores, disagreement_scores, interleave, margin_scores


def test_margin_is_highest_for_a_coin_toss():
    scores = margin_scores(np.array([[0.5, 0.5, 0.0], [0.9, 0.1, 0.0], [0.6, 0.3, 0.1]]))
    assert np.allclose(scores, [1.0, 0.2, 0.7])
    assert margin_scores(np.zeros((0, 2))).shape == (0,)


def test_disagreement_needs_two_votes():
    scores = disagreement_scores(np.array([[1, 1], [2, 0], [1, 0], [2, 1]]))
    assert np.allclose(scores, [0.5, 0.0, 0.0, 1 / 3])


def test_anomaly_scores_the_outlier_highest():
    rng = np.random.default_rng(0)
    photos = np.abs(rng.normal(1, 0.05, (30, 8)))
    photos[7] = np.abs(rng.normal(0, 1, 8)) * np.eye(8)[3] + 0.01
    assert int(np.argmax(anomaly_scores(photos, photos))) == 7


def test_interleave_respects_shares_and_skips_repeats():
    taken = interleave([[1, 2, 3, 4, 5, 6, 7, 8], [1, 10, 11]], [0.75, 0.25], 8)
    assert taken[:4].count(10) + taken[:4].count(11) == 1
    assert len(taken) == len(set(taken)) == 8


def test_typical_diverse_takes_the_centre_of_each_uncovered_cluster():
    """Three clusters, one with a labeled photo: the two picks are the centres of the other two, not outliers."""
    from ml.active_learning import typical_diverse

    rng = np.random.default_rng(0)
    centres = np.eye(3) * 10 + 1
    photos = np.vstack([c + rng.normal(0, 0.3, (20, 3)) for c in centres])
    order, typical = typical_diverse(photos[:40], photos[40:41], 2)  # one label: 1 + 2 groups
    assert sorted(order // 20) == [0, 1]
    unit = photos / np.linalg.norm(photos, axis=1, keepdims=True)
    for pick in order:  # each pick is its cluster's photo nearest the cluster's mean
        members = unit[(pick // 20) * 20 : (pick // 20 + 1) * 20]
        assert pick % 20 == int(np.argmin(((members - members.mean(axis=0)) ** 2).sum(axis=1)))
    assert np.all(typical > 0)
