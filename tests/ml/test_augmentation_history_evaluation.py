"""Augmentation layers and grid, overfitting verdicts, and metric arithmetic."""

import numpy as np
import pytest
from PIL import Image

from ml.augmentation import PRESETS, make_augmentation, render_augmentation_grid
from ml.config import OPTIONS_BY_NAME
from ml.errors import ConfigError
from ml.evaluation import classification_metrics, wilson_ci
from ml.history import overfitting_report


def test_augmentation_changes_images_only_in_training():
    """Random layers alter a batch when training and pass it through unchanged at inference."""
    x = np.random.default_rng(0).uniform(-1, 1, (4, 32, 32, 3)).astype(np.float32)
    augment = make_augmentation("strong", seed=1)
    assert not np.allclose(augment(x, training=True).numpy(), x)
    assert np.allclose(augment(x, training=False).numpy(), x, atol=1e-5)
    out = augment(x, training=True).numpy()
    assert out.min() >= -1.0 and out.max() <= 1.0
    assert make_augmentation("none") is None
    assert set(PRESETS) == {"none", "light", "strong"}
    with pytest.raises(ConfigError):
        make_augmentation("extreme")


def test_engine_lists_derive_from_the_training_options():
    """The augmentation presets and the quantize choices are the training options' choices, not copies."""
    from ml import quantization

    assert tuple(PRESETS) == OPTIONS_BY_NAME["augment"].choices
    assert quantization.QUANTIZE_CHOICES is OPTIONS_BY_NAME["quantize"].choices


def test_augmentation_grid_is_a_png_of_variants(shapes_dir, tmp_path):
    """The grid holds the original plus distinct augmented variants of one image."""
    image = next((shapes_dir / "circle").glob("*.png"))
    out = render_augmentation_grid(image, tmp_path / "grid.png", "strong", image_size=40, rows=2, cols=3)
    grid = np.asarray(Image.open(out))
    assert Image.open(out).format == "PNG" and grid.shape == (2 * 44 + 4, 3 * 44 + 4, 3)
    tiles = [grid[4 + r * 44: 44 + r * 44, 4 + c * 44: 44 + c * 44] for r in range(2) for c in range(3)]
    assert len({t.tobytes() for t in tiles}) == 6


def _rows(train_acc, val_acc, val_loss):
    return [{"epoch": i + 1, "phase": "scratch", "loss": 1.0 - a / 2, "accuracy": a, "val_loss": vl,
             "val_accuracy": va} for i, (a, va, vl) in enumerate(zip(train_acc, val_acc, val_loss))]


@pytest.mark.parametrize("train_acc, val_acc, val_loss, verdict, best", [
    ([0.6, 0.8, 0.95, 0.99], [0.6, 0.75, 0.8, 0.8], [0.9, 0.6, 0.5, 0.7], "overfitting", 3),
    ([0.5, 0.55, 0.6], [0.5, 0.55, 0.58], [0.7, 0.69, 0.68], "underfitting", 3),
    ([0.7, 0.85, 0.9, 0.9], [0.7, 0.84, 0.88, 0.89], [0.6, 0.4, 0.35, 0.36], "fine", 3),
    # One noisy last epoch does not make a verdict: the rule reads the mean of the last three.
    ([0.7, 0.8, 0.85, 0.86, 0.87], [0.7, 0.8, 0.84, 0.85, 0.7], [0.6, 0.45, 0.4, 0.41, 0.6], "fine", 3),
])
def test_overfitting_verdict_follows_its_rule(train_acc, val_acc, val_loss, verdict, best):
    """The verdict, the minimum-validation-loss epoch and the final gap come from the curves."""
    report = overfitting_report(_rows(train_acc, val_acc, val_loss), num_classes=2)
    assert report["verdict"] == verdict
    assert report["min_val_loss_epoch"] == best
    assert report["final_gap"] == pytest.approx(train_acc[-1] - val_acc[-1])
    assert "overfitting if" in report["rule"] and "last 3 epochs" in report["rule"]


def test_wilson_interval_and_per_class_metrics():
    """Accuracy carries n and a Wilson 95 % interval; per-class scores match a hand count."""
    low, high = wilson_ci(94, 100)
    assert low == pytest.approx(0.8752, abs=1e-3) and high == pytest.approx(0.9722, abs=1e-3)
    m = classification_metrics([0, 0, 1, 1, 1], [0, 1, 1, 1, 0], ["a", "b"])
    assert m["accuracy"] == pytest.approx(0.6) and m["n"] == 5
    assert m["confusion_matrix"] == [[1, 1], [1, 2]]
    assert m["per_class"]["b"]["precision"] == pytest.approx(2 / 3)
    assert m["per_class"]["a"]["recall"] == pytest.approx(0.5)


def test_contrast_and_brightness_keep_the_unit_range_centred():
    """Photometric layers work on [-1, 1] images without clipping away the dark half."""
    from ml.augmentation import AugmentationSpec

    x = np.random.default_rng(1).uniform(-1, 1, (8, 16, 16, 3)).astype(np.float32)
    augment = make_augmentation(AugmentationSpec(contrast=0.2, brightness=0.1), seed=0)
    out = augment(x, training=True).numpy()
    assert (out < -0.5).mean() > 0.15  # dark pixels survive (Keras' contrast clips at 0 in pixel units)
    assert abs(out.mean() - x.mean()) < 0.3
