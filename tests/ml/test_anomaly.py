"""Out-of-distribution detector on the served model's embeddings."""

import numpy as np
import pytest

from tests.fixtures import models as fx


def _scores(shape_export, variant: str, images: np.ndarray):
    from ml.anomaly import VARIANT_MODELS, load_detectors
    from ml.parity import run_onnx

    detector = load_detectors(shape_export["out"] / "anomaly.npz")[variant]
    model_file = VARIANT_MODELS[variant]
    embeddings = run_onnx(shape_export["out"] / model_file, images, outputs=("embedding",))["embedding"]
    return detector, detector.flags(embeddings)


@pytest.mark.parametrize("variant", ["fp32", "int8", "unpruned"])
def test_detector_flags_generated_out_of_distribution_images(shape_export, variant):
    """Noise, flat colours and a different family of pictures are all flagged by each served variant's detector."""
    for images in (fx.noise_images(12, seed=5), fx.blank_images(), fx.line_images(12, seed=6)):
        _, flags = _scores(shape_export, variant, images)
        assert flags.all()


@pytest.mark.parametrize("variant", ["fp32", "int8", "unpruned"])
def test_detector_accepts_in_distribution_images(shape_export, variant, shape_classifier):
    """New images of the trained shapes are rarely flagged (the threshold is the 99th percentile)."""
    _, flags = _scores(shape_export, variant, shape_classifier["holdout"][0])
    assert flags.mean() <= 0.05


def test_card_summary_describes_detector(shape_export):
    """The card records method, percentile, threshold and the reference score distribution per variant."""
    assert set(shape_export["sections"]["anomaly"]["variants"]) == {"fp32", "int8", "unpruned"}
    assert shape_export["sections"]["anomaly"]["scored_with"].startswith("served + unpruned")
    summary = shape_export["sections"]["anomaly"]["variants"]["fp32"]
    assert summary["method"] == "mahalanobis" and summary["percentile"] == 99.0
    assert summary["scores"]["p50"] < summary["threshold"] <= summary["scores"]["max"]
    assert sum(summary["scores"]["histogram"]["counts"]) == summary["scores"]["count"] == 180


def test_detector_round_trips_through_npz(tmp_path):
    """A saved detector scores exactly like the fitted one."""
    from ml.anomaly import fit_detector, load_detectors, save_detectors

    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 6))
    detector = fit_detector(x, rng.integers(0, 2, 80))
    save_detectors(tmp_path / "a.npz", {"fp32": detector})
    loaded = load_detectors(tmp_path / "a.npz")["fp32"]
    probe = rng.normal(size=(5, 6)) * 3
    np.testing.assert_allclose(loaded.score(probe), detector.score(probe))
    assert loaded.threshold == detector.threshold


def test_mahalanobis_uses_the_covariance():
    """A point along a low-variance direction scores higher than one equally far along a high-variance one."""
    from ml.anomaly import fit_detector

    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 2)) * np.array([10.0, 0.5])
    detector = fit_detector(x)
    wide, narrow = detector.score(np.array([[5.0, 0.0], [0.0, 5.0]]))
    assert narrow > 3 * wide


def test_auroc_counts_ties_as_half():
    """AUROC is 1 for separated scores, 0.5 for identical ones."""
    from ml.anomaly import auroc

    assert auroc(np.array([1.0, 2.0]), np.array([3.0, 4.0])) == 1.0
    assert auroc(np.array([1.0, 1.0]), np.array([1.0])) == 0.5


def test_non_negative_embeddings_are_square_rooted():
    """ReLU-pooled (non-negative) embeddings get the square-root transform, recorded in the summary."""
    from ml.anomaly import fit_detector

    rng = np.random.default_rng(2)
    x = rng.gamma(0.5, 2.0, size=(120, 4))
    detector = fit_detector(x)
    assert detector.transform == "sqrt" and detector.summary()["transform"] == "sqrt"
    manual = fit_detector(np.sqrt(x) - 10.0)  # shifted below zero: no transform, same geometry
    # Scores are computed in float32: equal to about six digits.
    np.testing.assert_allclose(detector.score(x[:5]), manual.score(np.sqrt(x[:5]) - 10.0), rtol=1e-5)


def test_paired_detector_sums_both_opinions_at_a_calibrated_threshold():
    """Two detectors fitted on the same images pair up: the summed training scores set the threshold,
    and a picture that both find somewhat unusual is flagged although neither flags it alone."""
    from ml.anomaly import PairedDetector, fit_detector

    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 400)
    a = rng.normal(size=(400, 5)) + labels[:, None]
    b = rng.normal(size=(400, 4)) - labels[:, None]
    first, second = fit_detector(a, labels, seed=3), fit_detector(b, labels, seed=3)
    paired = PairedDetector.calibrate(first, second)
    sums = first.reference_scores / first.threshold + second.reference_scores / second.threshold
    assert (sums > paired.threshold).mean() == pytest.approx(0.01, abs=0.005)
    assert paired.threshold < 2.0  # the two opinions are not perfectly correlated
    # Just under each detector's own threshold, but unusual to both.
    assert first.precision.ndim == 3  # 200 images per class: one covariance each
    near_a = first.means[0] + np.linalg.cholesky(np.linalg.inv(first.precision[0]))[:, 0] * first.threshold * 0.95
    near_b = second.means[0] + np.linalg.cholesky(np.linalg.inv(second.precision[0]))[:, 0] * second.threshold * 0.95
    assert not first.flags(near_a[None])[0] and not second.flags(near_b[None])[0]
    assert paired.score(near_a[None], near_b[None])[0] > paired.threshold


def test_classes_with_enough_images_get_their_own_covariance():
    """With more images per class than dimensions each class has its own covariance, so a picture that is
    ordinary for one class's spread but placed where the other class is tight is still flagged."""
    from ml.anomaly import fit_detector

    rng = np.random.default_rng(2)
    wide_x = rng.normal(size=(300, 3)) * [5.0, 0.2, 0.2]  # class 0 varies along the first axis
    wide_y = rng.normal(size=(300, 3)) * [0.2, 5.0, 0.2] + [0.0, 0.0, 20.0]  # class 1 along the second
    x, labels = np.concatenate([wide_x, wide_y]), np.repeat([0, 1], 300)
    detector = fit_detector(x, labels)
    assert detector.precision.shape == (2, 3, 3) and detector.summary()["covariance"] == "per_class"
    odd = np.array([[8.0, 0.0, 20.0]])  # class 1's centre shifted along the axis only class 0 spreads on
    assert detector.flags(odd)[0] and not detector.flags(np.array([[8.0, 0.0, 0.0]]))[0]
    few = fit_detector(x[::150], labels[::150])  # two images per class, three dimensions
    assert few.precision.shape == (3, 3) and few.summary()["covariance"] == "shared"


def test_embeddings_that_never_vary_give_finite_ratios():
    """A backbone whose features are constant gives a threshold of 0: ratios stay finite (a JSON number), not a division error."""
    import json

    from ml.anomaly import PairedDetector, fit_detector

    same = np.ones((60, 4))
    detector = fit_detector(same, np.repeat([0, 1], 30))
    paired = PairedDetector.calibrate(detector, fit_detector(same, np.repeat([0, 1], 30)))
    own, other = paired.ratios(np.ones((1, 4)) * 2, np.ones((1, 4)) * 2)
    assert detector.threshold > 0 and paired.threshold > 0
    assert np.isfinite(own).all() and np.isfinite(other).all()
    json.dumps({"served": float(detector.score(np.ones((1, 4)) * 2)[0] / detector.threshold)}, allow_nan=False)
