"""The embeddings cache's engine side and the quick model: a tiny MobileNet built here, generated images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ml.card import validate_card
from ml.embeddings import (
    BackboneUnavailable,
    Embedder,
    backbone_int8_onnx,
    backbone_onnx,
    from_bytes,
    mirror,
    resolve_backbone,
    to_bytes,
)
from ml.quick import QuickData, fit_quick_head, publish_quick

SIZE = 32


@pytest.fixture(scope="module")
def weights_dir(tmp_path_factory):
    """A weights folder holding a random-weight MobileNet 0.25 under the standard ImageNet file name."""
    from ml.backend import keras

    folder = tmp_path_factory.mktemp("weights")
    keras.utils.set_random_seed(0)
    base = keras.applications.MobileNet(input_shape=(SIZE, SIZE, 3), alpha=0.25, include_top=False, weights=None)
    base.save_weights(folder / "mobilenet_2_5_224_tf_no_top.h5")
    return folder


@pytest.fixture(scope="module")
def backbone(weights_dir):
    return resolve_backbone("mobilenet", 0.25, SIZE, weights_dir=weights_dir)


@pytest.fixture(scope="module")
def backbone_file(backbone, tmp_path_factory):
    return backbone_onnx(backbone, tmp_path_factory.mktemp("cache"))


def _images(n, seed):
    return np.random.default_rng(seed).uniform(0, 255, (n, SIZE, SIZE, 3)).astype(np.float32)


def test_no_weights_refuses_with_the_reason(tmp_path):
    """Without a weights file the backbone is unavailable, and the reason names the weights folder."""
    with pytest.raises(BackboneUnavailable, match="RIIM_WEIGHTS_DIR"):
        resolve_backbone("mobilenet", 0.25, SIZE, weights_dir=tmp_path)


def test_fingerprint_changes_with_weights_and_size(backbone, weights_dir, tmp_path):
    """Another input size or another weights file is another cache key."""
    assert resolve_backbone("mobilenet", 0.25, SIZE, weights_dir=weights_dir).fingerprint == backbone.fingerprint
    assert resolve_backbone("mobilenet", 0.25, 64, weights_dir=weights_dir).fingerprint != backbone.fingerprint
    other = tmp_path / "mobilenet_2_5_224_tf_no_top.h5"
    other.write_bytes((weights_dir / "mobilenet_2_5_224_tf_no_top.h5").read_bytes() + b"\0")
    assert resolve_backbone("mobilenet", 0.25, SIZE, weights_dir=tmp_path).fingerprint != backbone.fingerprint


def test_backbone_onnx_matches_keras_and_is_reused(backbone, backbone_file, weights_dir):
    """The exported backbone computes the frozen network's pooled features; a second call reuses the file."""
    from ml.backend import keras

    images = _images(3, 1)
    photo, flipped = Embedder(backbone_file)(images)
    base = keras.applications.MobileNet(input_shape=(SIZE, SIZE, 3), alpha=0.25, include_top=False, weights=None)
    base.load_weights(weights_dir / "mobilenet_2_5_224_tf_no_top.h5")
    expected = base.predict(images / 127.5 - 1.0, verbose=0).mean(axis=(1, 2))
    np.testing.assert_allclose(photo, expected, atol=1e-4)
    np.testing.assert_allclose(flipped, base.predict(mirror(images) / 127.5 - 1.0, verbose=0).mean(axis=(1, 2)),
                               atol=1e-4)
    mtime = backbone_file.stat().st_mtime_ns
    assert backbone_onnx(backbone, backbone_file.parent.parent) == backbone_file
    assert backbone_file.stat().st_mtime_ns == mtime


def test_float16_storage_round_trip():
    """An embedding is stored as float16 bytes: two bytes a value, read back within float16 precision."""
    vector = np.random.default_rng(0).uniform(0, 6, 256).astype(np.float32)
    data = to_bytes(vector)
    assert len(data) == 512
    np.testing.assert_allclose(from_bytes(data), vector, rtol=1e-3)


def _separable(n, d=16, seed=0, classes=3):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    centres = rng.normal(0, 3, (classes, d))
    x = centres[y] + rng.normal(0, 1, (n, d))
    return x.astype(np.float32), (x + rng.normal(0, 0.3, (n, d))).astype(np.float32), y


def test_head_chooses_c_by_cross_validation_and_separates_classes():
    """On separable embeddings the head is accurate on new rows; C comes from the grid, with its CV table."""
    x, xm, y = _separable(150)
    head = fit_quick_head(x, xm, y, 3, seed=0)
    assert head.cv["k"] == 5 and str(head.c) in head.cv["c_grid"]
    assert head.cv["accuracy"]["mean"] > 0.9
    x_new, xm_new, y_new = _separable(90, seed=0)
    proba = head.predict_proba(x_new, xm_new)
    assert np.allclose(proba.sum(1), 1.0, atol=1e-5)
    assert (proba.argmax(1) == y_new).mean() > 0.9


def test_c_and_temperature_are_chosen_with_the_rule_that_is_served():
    """Each C is scored out of fold as it is served (mirror-averaged probabilities at its own fitted temperature):
    the CV table's accuracy of the chosen C is that of the head's out-of-fold probabilities, and the served
    head carries the same temperature."""
    x, xm, y = _separable(120, d=8, seed=3)
    x += np.random.default_rng(1).normal(0, 2.5, x.shape).astype(np.float32)  # overlap: a C choice that matters
    head = fit_quick_head(x, xm, y, 3, seed=0)
    oof = head.oof_probabilities
    assert oof.shape == (120, 3) and np.allclose(oof.sum(1), 1.0, atol=1e-5)
    folds = head.cv["per_fold"]
    assert sum(r["n"] for r in folds) == 120
    assert head.cv["c_grid"][str(head.c)] == pytest.approx(head.cv["accuracy"]["mean"], abs=1e-4)
    # Fold sizes differ by at most one: the mean of fold accuracies is the pooled out-of-fold accuracy within a hair.
    assert head.cv["accuracy"]["mean"] == pytest.approx((oof.argmax(1) == y).mean(), abs=0.01)
    assert head.cv["temperature"] == pytest.approx(head.temperature, abs=1e-4)


def test_without_test_photos_the_card_reports_out_of_fold_never_in_sample(backbone, backbone_file, tmp_path):
    """No test photos: the card's metrics are the out-of-fold estimate and say so, not the training rows' own score."""
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (40, 8)).astype(np.float32)
    y = np.arange(40) % 2  # labels unrelated to the rows: memorised in sample, guessed out of fold
    head = fit_quick_head(x, x, y, 2, seed=0)
    in_sample = (head.predict_proba(x, x).argmax(1) == y).mean()
    from ml.quick import _quick_metrics

    metrics = _quick_metrics(head, QuickData(x, x, y), None, ["a", "b"])
    assert metrics["split"] == "out_of_fold" and "out-of-fold" in metrics["note"]
    assert metrics["accuracy"] == pytest.approx((head.oof_probabilities.argmax(1) == y).mean())
    assert metrics["accuracy"] < in_sample
    tiny = fit_quick_head(x[:3], x[:3], np.array([0, 1, 1]), 2)
    assert _quick_metrics(tiny, QuickData(x[:3], x[:3], np.array([0, 1, 1])), None, ["a", "b"]) == {
        "split": "none", "n": 0, "tta": True,
        "note": "no test photos and too few training photos to cross-validate: no score"}


def test_head_with_too_few_photos_skips_cross_validation():
    """A class with a single photo cannot be cross-validated: the default C is used and kfold is empty."""
    x, xm, y = _separable(7, classes=2)
    y[0] = 0
    y[1:] = 1
    head = fit_quick_head(x, xm, y, 2)
    assert head.cv is None and head.c == 0.03


def test_published_folder_serves_the_contract_with_mirror_averaging(backbone, backbone_file, tmp_path):
    """The quick folder answers through the server's Predictor: four outputs, the head's own probabilities
    (mean of photo and mirror, so a photo and its mirror get the same answer), a CAM, an anomaly verdict."""
    from ml.inference import Predictor
    from ml.runtime import SERVING_OUTPUTS

    embed = Embedder(backbone_file)
    images = _images(24, 2)
    labels = np.arange(24) % 2
    x, xm = embed(images)
    int8 = backbone_int8_onnx(backbone, backbone_file.parent.parent, lambda: images)
    card = publish_quick(tmp_path, backbone=backbone, backbone_file=backbone_file, backbone_int8_file=int8,
                         classes=["a", "b"], train=QuickData(x[:18], xm[:18], labels[:18]),
                         test=QuickData(x[18:], xm[18:], labels[18:]),
                         config={"augment": "strong", "dropout": 0.5, "epochs": 30}, dataset_sha256="0" * 64)
    validate_card(card)
    assert card["mode"] == "quick" and card["metrics"]["split"] == "test" and card["metrics"]["n"] == 6
    # A quick card keeps only what its recipe used: no invented (or inherited) training fields.
    assert not {"augment", "dropout", "epochs"} & set(card["config"])
    assert card["stages"] == {"ran": ["fit", "export", "tfjs", "anomaly", "imagenet"], "skipped": []}
    assert card["tags"]["imagenet"]["enabled"] is False  # a MobileNet ships no ImageNet classifier here
    assert card["serving"]["tta"] and card["files"]["card"] == "card.json"
    # The browser's copy of the detector: both files scored by the one fitted on the cached embeddings.
    assert card["files"]["anomaly_browser"] == "anomaly.json" and (tmp_path / "anomaly.json").is_file()
    assert {v: r["rule"] for v, r in card["anomaly"]["browser"]["variants"].items()} == {"fp32": "distance",
                                                                                          "int8": "distance"}
    # The network view of a quick version: the frozen backbone's activations, shared by the fingerprint.
    from ml.runtime import INPUT_NAME, open_session

    assert card["files"]["activations"] == "activations.onnx"
    blocks = open_session(tmp_path / "activations.onnx").run(None, {INPUT_NAME: images[:1]})
    assert len(blocks) >= 3 and all(block.ndim == 4 for block in blocks)
    predictor = Predictor(tmp_path)
    outputs = predictor.run(images[18:])
    assert set(SERVING_OUTPUTS) <= set(outputs)
    kernel, bias = predictor.head
    logits = lambda e: e @ kernel + bias  # noqa: E731
    soft = lambda z: np.exp(z - z.max(1, keepdims=True)) / np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True)  # noqa: E731
    np.testing.assert_allclose(outputs["probabilities"], (soft(logits(x[18:])) + soft(logits(xm[18:]))) / 2, atol=1e-4)
    np.testing.assert_allclose(outputs["embedding"], x[18:], atol=1e-4)
    # ``logits`` is the log of what is served: softmax(logits) gives back the served probabilities.
    np.testing.assert_allclose(outputs["logits"], np.log(outputs["probabilities"]), atol=1e-4)
    np.testing.assert_allclose(soft(outputs["logits"]), outputs["probabilities"], atol=1e-5)
    mirrored = predictor.run(mirror(images[18:]), outputs=("probabilities",))["probabilities"]
    np.testing.assert_allclose(mirrored, outputs["probabilities"], atol=1e-4)
    from ml.analysis import analyse

    result = analyse(predictor, images[18])
    assert result.cam is not None and result.anomaly is not None
    int8_outputs = Predictor(tmp_path, variant="int8").run(images[:4])
    assert int8_outputs["probabilities"].shape == (4, 2)


def test_cli_trains_a_quick_model(shapes_dir, weights_dir, tmp_path):
    """`python -m ml train --mode quick` writes a served quick folder and prints its holdout accuracy."""
    import json
    import subprocess
    import sys

    out = tmp_path / "quick"
    done = subprocess.run([sys.executable, "-m", "ml", "train", "--mode", "quick", "--data", str(shapes_dir),
                           "--out", str(out), "--image-size", str(SIZE), "--weights-dir", str(weights_dir)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    assert summary["mode"] == "quick" and summary["n"] > 0
    assert (out / "model.onnx").is_file() and json.loads((out / "card.json").read_text())["mode"] == "quick"


NO_TENSORFLOW_PUBLISH = """
import json, sys
import numpy as np
from ml.embeddings import resolve_backbone
from ml.quick import QuickData, publish_quick

weights_dir, size, backbone_file, data, out = sys.argv[1:]
with np.load(data) as arrays:
    train = QuickData(arrays["x"], arrays["xm"], arrays["y"])
backbone = resolve_backbone("mobilenet", 0.25, int(size), weights_dir=weights_dir)
card = publish_quick(out, backbone=backbone, backbone_file=backbone_file, classes=["a", "b"], train=train,
                     test=None, config={}, dataset_sha256="0" * 64)
loaded = sorted(name for name in ("tensorflow", "tf_keras", "keras") if name in sys.modules)
print(json.dumps({"loaded": loaded, "tfjs": card["tfjs"], "stages": card["timings"]["stages"]}))
"""


def test_publish_after_the_tfjs_template_exists_does_not_import_tensorflow(backbone, backbone_file, tmp_path):
    """Once a fingerprint's TF.js template is cached, a quick publish in a fresh process writes the same TF.js
    files as the run that built it through TensorFlow, and never imports TensorFlow."""
    import json
    import subprocess
    import sys

    from ml.runtime import TFJS_FILES

    x, xm = Embedder(backbone_file)(_images(16, 3))
    y = np.arange(16) % 2
    first = tmp_path / "first"
    card = publish_quick(first, backbone=backbone, backbone_file=backbone_file, classes=["a", "b"],
                         train=QuickData(x, xm, y), test=None, config={}, dataset_sha256="0" * 64)
    assert card["tfjs"]["enabled"], card["tfjs"]
    np.savez(tmp_path / "data.npz", x=x, xm=xm, y=y)
    second = tmp_path / "second"
    done = subprocess.run([sys.executable, "-c", NO_TENSORFLOW_PUBLISH, str(Path(backbone.weights_path).parent),
                           str(SIZE), str(backbone_file), str(tmp_path / "data.npz"), str(second)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["loaded"] == []
    assert result["tfjs"]["enabled"] and result["tfjs"]["weight_bytes"] == card["tfjs"]["weight_bytes"]
    for key in ("tfjs_model", "tfjs_weights"):  # the same head (same data, same seed): the same bytes
        assert (second / TFJS_FILES[key]).read_bytes() == (first / TFJS_FILES[key]).read_bytes(), key
    metadata = json.loads((second / TFJS_FILES["tfjs_metadata"]).read_text())
    assert metadata["labels"] == ["a", "b"] and metadata["imageSize"] == SIZE


def test_first_quick_publish_after_the_backbone_export_does_not_import_tensorflow(backbone, tmp_path):
    """Exporting the backbone (TensorFlow is loaded for it anyway) also caches the TF.js template, so even a
    fingerprint's first quick publish runs without TensorFlow."""
    import json
    import subprocess
    import sys

    backbone_file = backbone_onnx(backbone, tmp_path / "cache")
    x, xm = Embedder(backbone_file)(_images(16, 5))
    np.savez(tmp_path / "data.npz", x=x, xm=xm, y=np.arange(16) % 2)
    done = subprocess.run([sys.executable, "-c", NO_TENSORFLOW_PUBLISH, str(Path(backbone.weights_path).parent),
                           str(SIZE), str(backbone_file), str(tmp_path / "data.npz"), str(tmp_path / "quick")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["loaded"] == [] and result["tfjs"]["enabled"], result


ISOLATED_EXPORT = """
import json, sys
from ml.embeddings import backbone_onnx, resolve_backbone

backbone = resolve_backbone("mobilenet", 0.25, int(sys.argv[2]), weights_dir=sys.argv[1])
path = backbone_onnx(backbone, sys.argv[3], isolated=True)
loaded = sorted(name for name in ("tensorflow", "tf_keras", "keras") if name in sys.modules)
print(json.dumps({"file": path.is_file(), "loaded": loaded}))
"""


def test_an_isolated_backbone_export_leaves_the_caller_without_tensorflow(weights_dir, tmp_path):
    """A long-lived process exports the backbone in a child: the file appears, TensorFlow never loads in the caller."""
    import json
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", ISOLATED_EXPORT, str(weights_dir), str(SIZE), str(tmp_path)],
                          capture_output=True, text=True, timeout=600, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"file": True, "loaded": []}
