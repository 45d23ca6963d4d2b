"""The lab's computations recover what was planted in generated data."""

import numpy as np
import pytest

from ml.lab import bandit, clusters, coach, experiments, network
from ml.lab.heads import HeadConfig, fit_head, head_accuracy


def _blobs(n_per_class=40, classes=3, dims=16, spread=5.0, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, dims)) * spread
    x = np.concatenate([centres[c] + rng.normal(size=(n_per_class, dims)) for c in range(classes)])
    return x, np.repeat(np.arange(classes), n_per_class)


def _curves(loss, val_loss, accuracy, val_accuracy):
    return [
        {"loss": a, "val_loss": b, "accuracy": c, "val_accuracy": d}
        for a, b, c, d in zip(loss, val_loss, accuracy, val_accuracy, strict=True)
    ]


def test_kmeans_recovers_planted_clusters():
    """Well separated blobs come back as clusters that agree perfectly with their labels."""
    x, y = _blobs()
    result = clusters.cluster_map(x, y, k=3, method="pca")
    assert result["agreement"]["ari"] > 0.95
    assert result["agreement"]["matched_accuracy"] > 0.97
    assert np.array(result["coords"]).shape == (len(y), 2)


def test_random_labels_disagree_with_clusters():
    """Labels unrelated to the data give an agreement near zero."""
    x, _ = _blobs()
    labels = np.random.default_rng(3).integers(0, 3, len(x))
    assert clusters.agreement(clusters.cluster_map(x, labels, 3)["clusters"], labels)["ari"] < 0.1


def test_bandit_beats_random_on_a_designed_reward():
    """With one clearly better action, the agent finds it and earns more than random choices."""
    actions = ["a", "b", "c", "d"]
    means = {"a": 0.2, "b": 0.4, "c": 0.8, "d": 0.3}
    noise = np.random.default_rng(11)

    def reward(action, step):
        return means[action] + noise.normal(0, 0.1)

    agent = bandit.run_agent(actions, reward, steps=60, seed=1)
    baseline = bandit.run_random(actions, reward, steps=60, seed=1)
    assert agent["best"] == "c"
    assert agent["mean_reward"][-1] > baseline["mean_reward"][-1] + 0.15
    assert agent["counts"]["c"] > 30


def test_backprop_gradients_match_finite_differences():
    """The chain-rule gradients equal numerical ones for every weight, at every training step."""
    net = network.init_network(4, 3, 2, seed=5)
    x = np.array([0.3, -1.2, 0.8, 0.1])
    steps = network.train_steps(net, x, y=1, steps=4, learning_rate=0.5)
    assert all(step["max_relative_error"] < 1e-6 for step in steps)
    assert steps[-1]["loss"] < steps[0]["loss"]
    assert set(steps[0]["gradients"]) == {"W1", "b1", "W2", "b2"}


@pytest.mark.parametrize(
    "curves,verdict",
    [
        # Validation loss turns up after epoch 4 while training loss keeps falling.
        (
            _curves(
                [1.0, 0.7, 0.5, 0.35, 0.25, 0.15, 0.1, 0.05],
                [1.0, 0.8, 0.65, 0.6, 0.7, 0.85, 1.0, 1.2],
                [0.5, 0.7, 0.8, 0.88, 0.93, 0.97, 0.99, 1.0],
                [0.5, 0.62, 0.7, 0.72, 0.7, 0.68, 0.66, 0.65],
            ),
            "overfitting",
        ),
        # Both losses stay high and close: the network has not learned enough.
        (
            _curves(
                [1.1, 1.05, 1.0, 0.98, 0.97, 0.96],
                [1.12, 1.07, 1.02, 1.0, 0.99, 0.98],
                [0.4, 0.45, 0.48, 0.5, 0.52, 0.53],
                [0.4, 0.44, 0.47, 0.49, 0.5, 0.51],
            ),
            "underfitting",
        ),
        # Both fall together and stay close.
        (
            _curves(
                [1.0, 0.6, 0.4, 0.3, 0.25, 0.22],
                [1.0, 0.65, 0.45, 0.36, 0.31, 0.3],
                [0.5, 0.75, 0.85, 0.9, 0.92, 0.93],
                [0.5, 0.72, 0.82, 0.86, 0.88, 0.89],
            ),
            "fine",
        ),
        (_curves([1.0, 0.5], [1.0, 0.6], [0.5, 0.7], [0.5, 0.6]), "too_short"),
    ],
)
def test_coach_verdict_matches_planted_curves(curves, verdict):
    """The coach names the situation that was planted in the curves."""
    reading = coach.read_curves(curves)
    assert reading["verdict"] == verdict
    if verdict == "overfitting":
        assert reading["best_epoch"] == 4 and reading["turn_epoch"] == 5
        assert "early_stopping" in reading["advice"]


def test_label_noise_lowers_accuracy():
    """Flipping half of the labels costs accuracy on clean test data."""
    x, y = _blobs(n_per_class=30, classes=2, spread=1.2, seed=2)
    xt, yt = _blobs(n_per_class=30, classes=2, spread=1.2, seed=2)
    result = experiments.label_noise_experiment(x, y, xt + 0.1, yt, 2, fractions=(0.0, 0.5), repeats=2)
    clean, noisy = result["rows"]
    assert noisy["flipped"] == 30
    assert clean["accuracy"] > noisy["accuracy"] + 0.2


def test_flip_labels_changes_exactly_the_fraction():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 20)
    noisy = experiments.flip_labels(y, 0.25, 3, rng)
    assert int(np.sum(noisy != y)) == 15


def test_regularization_narrows_the_gap():
    """On a tiny subset the plain head memorises; augmented copies and dropout validate better."""
    rng = np.random.default_rng(4)
    x, y = _blobs(n_per_class=60, classes=3, dims=32, spread=0.6, seed=4)
    features = {"original": x, "flip": x + rng.normal(0, 0.8, x.shape), "dark": x + rng.normal(0, 0.8, x.shape)}
    vx, vy = _blobs(n_per_class=60, classes=3, dims=32, spread=0.6, seed=4)
    vx = vx + rng.normal(0, 0.8, vx.shape)
    result = experiments.overfitting_experiment(features, y, vx, vy, 3, per_class=6, epochs=40)
    plain, regular = result["plain"][-1], result["regularized"][-1]
    assert plain["accuracy"] == 1.0
    assert (plain["val_loss"] - plain["loss"]) > (regular["val_loss"] - regular["loss"])


def test_split_spread_reports_kfold_mean_and_single_splits():
    x, y = _blobs(n_per_class=20, classes=2, spread=0.8, seed=9)
    result = experiments.split_spread(x, y, 2, splits=5, folds=4)
    assert len(result["single_splits"]) == 5 and result["kfold"]["k"] == 4
    scores = [f["accuracy"] for f in result["kfold"]["per_fold"]]
    assert result["kfold"]["mean"] == pytest.approx(np.mean(scores))


def test_head_learns_separable_features():
    x, y = _blobs(classes=2)
    head, curves = fit_head(x, y, 2, HeadConfig(epochs=10))
    assert head_accuracy(head, x, y) == 1.0 and len(curves) == 10
