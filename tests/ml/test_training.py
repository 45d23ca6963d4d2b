"""The training pipeline end to end on tiny generated images."""

import json
import re

import numpy as np
import pytest

from ml.card import read_card, validate_card
from ml.config import TrainConfig
from ml.errors import ConfigError
from ml.training import train


def test_scratch_training_beats_chance_by_a_wide_margin(scratch_run):
    """Three shape classes (chance 33 %) are learned to at least 80 % on the held-out test split."""
    result, _, _ = scratch_run
    metrics = result.card["metrics"]
    assert metrics["split"] == "test" and metrics["n"] == 12
    assert metrics["accuracy"] >= 0.8
    assert metrics["ci95"][0] <= metrics["accuracy"] <= metrics["ci95"][1]
    assert sum(map(sum, metrics["confusion_matrix"])) == 12


def test_kfold_returns_k_results_with_mean_and_std(scratch_run):
    """k-fold gives one result per fold and their mean and standard deviation."""
    kfold = scratch_run[0].card["kfold"]
    assert kfold["k"] == 3 and len(kfold["per_fold"]) == 3
    accs = [f["accuracy"] for f in kfold["per_fold"]]
    assert kfold["accuracy"]["mean"] == pytest.approx(np.mean(accs))
    assert kfold["accuracy"]["std"] == pytest.approx(np.std(accs, ddof=1))
    assert sum(f["n"] for f in kfold["per_fold"]) == 60  # the training pool: 72 images minus 12 test
    assert "short training" in kfold["method"]


def test_card_validates_and_records_what_was_trained(scratch_run):
    """card.json follows the committed schema and holds data, history, verdict, layers and timings."""
    result, out, _ = scratch_run
    card = read_card(out / "card.json")
    validate_card(card)
    assert card["classes"] == ["circle", "square", "triangle"]
    assert card["config"] == result.card["config"] and TrainConfig.from_dict(card["config"]).epochs == 8
    assert card["dataset"]["counts"]["test"] == {"circle": 4, "square": 4, "triangle": 4}
    assert len(card["dataset"]["sha256"]) == 64
    assert card["overfitting"]["verdict"] in {"overfitting", "underfitting", "fine"}
    assert 1 <= card["overfitting"]["min_val_loss_epoch"] <= len(card["history"]["epochs"])
    assert any(row["type"] == "Dense" and row["params"] > 0 for row in card["layers"])
    assert set(card["timings"]["stages"]) >= {"data", "kfold", "train", "evaluate"}
    assert card["backbone"]["used"] == "scratch" and not card["backbone"]["fallback"]
    # The card says which stages ran: tiny_config cross-validates but has no fine-tuning epochs.
    assert {"data", "kfold", "train", "evaluate", "export", "anomaly", "report"} <= set(card["stages"]["ran"])
    assert "fine_tune" in card["stages"]["skipped"] and "prune" in card["stages"]["skipped"]
    assert set(card["timings"]["stages"]) <= set(card["stages"]["ran"])


def test_history_and_plot_are_written(scratch_run):
    """history.json has per-epoch train and validation loss and accuracy; the plot is a PNG."""
    _, out, events = scratch_run
    rows = json.loads((out / "history.json").read_text())["epochs"]
    assert rows and {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(rows[0])
    assert (out / "history.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "model.keras").is_file()
    fractions = [event.fraction for event in events]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)


def test_invalid_card_is_rejected(scratch_run):
    """The schema catches a card with a wrong metric."""
    import jsonschema

    card = json.loads(json.dumps(scratch_run[0].card))
    card["metrics"]["accuracy"] = 1.5
    with pytest.raises(jsonschema.ValidationError):
        validate_card(card)


def test_given_holdout_is_respected_and_corrupt_files_reported(holdout_manifest, tiny_config, tmp_path):
    """With a split column, no holdout image is trained on and the metrics are on exactly the holdout."""
    result = train(tiny_config.replace(folds=2, epochs=2), holdout_manifest, tmp_path)
    holdout = {line.split(",")[0] for line in holdout_manifest.read_text().splitlines() if line.endswith("holdout")}
    holdout = {str(holdout_manifest.parent / p) for p in holdout}
    assert set(result.split_paths["test"]) == holdout
    assert holdout.isdisjoint(result.split_paths["train"] + result.split_paths["val"])
    assert result.card["metrics"]["split"] == "holdout" and result.card["metrics"]["n"] == 10
    assert [s["path"].endswith("broken.jpg") for s in result.card["dataset"]["skipped"]] == [True]


def test_pretrained_run_caches_features_for_kfold_and_fine_tunes(shapes_dir, tmp_path):
    """A MobileNet run loads directory weights, validates the head on frozen features and fine-tunes."""
    from ml.backend import keras

    reference = keras.applications.MobileNet(input_shape=(32, 32, 3), alpha=0.25, include_top=False, weights=None)
    reference.save_weights(tmp_path / "mobilenet_2_5_224_tf_no_top.h5")
    config = TrainConfig(backbone="mobilenet", alpha=0.25, image_size=32, epochs=1, fine_tune_epochs=1,
                         fine_tune_layers=6, folds=2, kfold_epochs=1, augment="light", seed=0)
    # Only the stages this test reads: cross-validation, fine-tuning and the anomaly detector's reference.
    result = train(config, shapes_dir, tmp_path / "run", weights_dir=tmp_path, stages=("kfold", "fine_tune", "anomaly"))
    card = result.card
    validate_card(card)
    assert card["backbone"]["weights"]["source"] == "directory" and card["backbone"]["pretrained"]
    assert card["kfold"]["k"] == 2 and "frozen" in card["kfold"]["method"]
    assert card["fine_tuning"]["enabled"] and card["fine_tuning"]["phases"] == ["head", "fine_tune"]
    assert card["fine_tuning"]["unfrozen_layers"] == ["conv_dw_13", "conv_pw_13"]
    first = result.model.get_layer("backbone").get_layer("conv1").get_weights()[0]
    assert np.array_equal(first, reference.get_layer("conv1").get_weights()[0])
    # The anomaly detector's second opinion is the backbone as loaded: its layers after the branch
    # point continue from the served model's early features, which fine-tuning the top left untouched.
    from ml.anomaly import detector_embeddings

    assert card["files"]["onnx_reference"] == "reference.onnx" and "reference" in card["anomaly"]["variants"]
    assert card["anomaly"]["scored_with"].startswith("served + reference")
    assert card["anomaly"]["reference_branch"] == {"layer": "conv_pw_3_relu", "output": "early_features"}
    pixels = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype(np.float32)
    exported = detector_embeddings(tmp_path / "run", pixels)["reference"]
    expected = reference.predict(pixels / 127.5 - 1.0, verbose=0).mean(axis=(1, 2))
    np.testing.assert_allclose(exported, expected, atol=1e-4)

    # A folder written before the branch point, whose reference.onnx starts from the image, is still
    # served: here both references compute the same features, so the verdicts agree.
    import shutil

    from ml.graphs import export_reference
    from ml.inference import Predictor
    from ml.models import build_reference_extractor
    from ml.preprocess import SERVING_INPUT_SCALE

    older = tmp_path / "older"
    shutil.copytree(tmp_path / "run", older)
    export_reference(build_reference_extractor("mobilenet", 0.25, 32, str(tmp_path / "mobilenet_2_5_224_tf_no_top.h5")),
                     older / "reference.onnx", input_scale=SERVING_INPUT_SCALE)
    verdicts = []
    for folder in (tmp_path / "run", older):
        predictor = Predictor(folder)
        outputs = predictor.run(pixels[:1])
        verdicts.append(predictor.anomaly(pixels[0], outputs["embedding"], outputs))
    new_verdict, old_verdict = verdicts
    assert old_verdict["parts"].keys() == {"served", "reference"}
    assert old_verdict["score"] == pytest.approx(new_verdict["score"], abs=1e-3)


def test_pruned_int8_reference_continues_from_each_served_file(shapes_dir, tmp_path):
    """After pruning, the reference's pretrained layers run on the served file's own early features
    (fp32 or int8, each with its detector), and the server's score is the calibrated sum."""
    import onnx

    from ml.anomaly import PairedDetector, detector_embeddings, load_detectors
    from ml.backend import keras
    from ml.inference import Predictor
    from ml.parity import run_onnx
    from ml.validate import validate_folder

    backbone = keras.applications.MobileNet(input_shape=(32, 32, 3), alpha=0.25, include_top=False, weights=None)
    backbone.save_weights(tmp_path / "mobilenet_2_5_224_tf_no_top.h5")
    config = TrainConfig(backbone="mobilenet", alpha=0.25, image_size=32, epochs=1, fine_tune_epochs=0, folds=0,
                         augment="none", seed=0, prune=0.5, quantize=("int8",))
    out = tmp_path / "run"
    train(config, shapes_dir, out, weights_dir=tmp_path, stages=("prune", "quantize", "anomaly"))  # what it reads
    assert validate_folder(out) == []
    assert [i.name for i in onnx.load(str(out / "reference.onnx")).graph.input] == ["early_features"]
    detectors = load_detectors(out / "anomaly.npz")
    assert {"fp32", "int8", "unpruned", "reference", "reference_int8"} <= set(detectors)

    pixels = np.random.default_rng(1).uniform(0, 255, (3, 32, 32, 3)).astype(np.float32)
    rest = keras.Model(backbone.get_layer("conv_pw_3_relu").output, backbone.output)
    embeddings = detector_embeddings(out, pixels)
    assert set(embeddings) == set(detectors)
    for served, variant in (("model.onnx", "reference"), ("model.int8.onnx", "reference_int8")):
        early = run_onnx(out / served, pixels, outputs=("early_features",))["early_features"]
        np.testing.assert_allclose(embeddings[variant], rest.predict(early, verbose=0).mean(axis=(1, 2)), atol=1e-4)
    # Pruning changed the early layers: the pretrained backbone alone would see other features.
    untouched = keras.Model(backbone.input, backbone.get_layer("conv_pw_3_relu").output).predict(
        pixels / 127.5 - 1.0, verbose=0)
    assert not np.allclose(run_onnx(out / "model.onnx", pixels, outputs=("early_features",))["early_features"],
                           untouched, atol=1e-3)

    # The browser's copy of the detectors (anomaly.json) pairs each file with its reference, as the server does.
    import json

    from ml.browser_anomaly import browser_score, read_browser_detectors

    rules = json.loads((out / "card.json").read_text())["anomaly"]["browser"]["variants"]
    assert {v: (r["rule"], r["second_model"], r["second_input"]) for v, r in rules.items()} == {
        v: ("sum_of_ratios", "reference.onnx", "early_features") for v in ("fp32", "int8")}
    browser = read_browser_detectors(out)

    image = pixels[0]
    for variant, other in (("fp32", "reference"), ("int8", "reference_int8")):
        predictor = Predictor(out, variant=variant)
        outputs = predictor.run(image[None])
        verdict = predictor.anomaly(image, outputs["embedding"], outputs)
        in_browser = browser_score(browser, variant, outputs["embedding"], embeddings[other][:1])
        assert in_browser["score"] == pytest.approx(verdict["score"], abs=1e-3)
        assert (in_browser["threshold"], in_browser["flagged"]) == (verdict["threshold"], verdict["flagged"])
        paired = PairedDetector.calibrate(detectors[variant], detectors[other])
        own, ref = (float(r[0]) for r in paired.ratios(outputs["embedding"], embeddings[other][:1]))
        assert verdict["parts"] == pytest.approx({"served": own, "reference": ref}, rel=1e-5)
        assert verdict["threshold"] == paired.threshold and verdict["score"] == pytest.approx(own + ref, rel=1e-5)
        # Without the outputs at hand the predictor computes the early features itself: same verdict.
        assert predictor.anomaly(image, outputs["embedding"])["score"] == pytest.approx(verdict["score"], rel=1e-6)


def test_invalid_config_values_are_refused():
    """Out-of-range hyperparameters raise ConfigError with a readable reason."""
    with pytest.raises(ConfigError, match="dropout"):
        TrainConfig(dropout=1.5)
    with pytest.raises(ConfigError, match="folds"):
        TrainConfig(folds=1)


def test_warm_start_fits_the_head_to_frozen_features(shapes_dir, tmp_path):
    """The head starts from a logistic regression on frozen features: it already separates the classes."""
    from sklearn.linear_model import LogisticRegression

    from ml.backend import keras
    from ml.datasets import load_image_data, split_indices
    from ml.models import build_classifier, build_scratch_backbone, feature_model, freeze_backbone
    from ml.quick import QUICK_CS
    from ml.training import warm_start_head

    config = TrainConfig(backbone="mobilenet", alpha=0.25, image_size=32, weights="none", seed=0)
    images = load_image_data(shapes_dir, config.image_size)
    splits = split_indices(images, config.val_fraction, config.test_fraction, config.seed)
    keras.utils.set_random_seed(0)
    # A frozen random CNN stands in for a pretrained base: its features vary with the picture.
    base = build_scratch_backbone(32, filters=(16, 32))
    model = build_classifier(base, len(images.classes), config.dropout, config.l2, pretrained=True)
    freeze_backbone(model)
    train_idx = splits["train"]
    before = (model.predict(images.x[train_idx], verbose=0).argmax(axis=1) == images.y[train_idx]).mean()
    features = feature_model(model).predict(images.x[train_idx], verbose=0)
    mirrored = feature_model(model).predict(images.x[train_idx][:, :, ::-1, :], verbose=0)
    message = warm_start_head(model, features, images.y[train_idx], config, mirrored)
    assert "logistic regression" in message
    after = (model.predict(images.x[train_idx], verbose=0).argmax(axis=1) == images.y[train_idx]).mean()
    assert after > max(before, 0.8)
    # The warm start is the quick model of the same rows: a balanced logistic regression on each photo and its
    # mirror, at the C it reports (one of the grid's), divided by a positive temperature. The reference is
    # fitted here by scikit-learn itself, not by the code under test; the softmax is compared through its logit
    # differences to the first class, which are what it is identified by.
    c = float(re.search(r"C = ([0-9.e+-]+)\)", message).group(1))
    assert c in QUICK_CS
    reference = LogisticRegression(C=c, class_weight="balanced", max_iter=10_000, tol=1e-10).fit(
        np.concatenate([features, mirrored]), np.concatenate([images.y[train_idx]] * 2))
    kernel, bias = model.get_layer("head_predictions").get_weights()
    served = _logit_differences(np.vstack([kernel, bias]))
    expected = _logit_differences(np.vstack([reference.coef_.T, reference.intercept_]))
    scale = float(served @ expected / (served @ served))  # 1 / temperature
    assert scale > 0
    assert np.linalg.norm(served * scale - expected) <= 1e-3 * np.linalg.norm(expected)
    assert feature_model(model).output_shape[-1] == model.get_layer("head_predictions").get_weights()[0].shape[0]


def _logit_differences(weights: np.ndarray) -> np.ndarray:
    """Return each class's weights (and bias, as the last row) minus the first class's, flattened."""
    return (weights[:, 1:] - weights[:, :1]).ravel().astype(np.float64)
