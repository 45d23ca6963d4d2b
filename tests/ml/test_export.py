"""ONNX and TFLite export of a trained model: names, parity, quantization, CAM head, activations."""

import numpy as np
import onnx

from ml.runtime import INPUT_NAME
from tests.fixtures import models as fx


def test_onnx_has_named_input_and_outputs(shape_export):
    """model.onnx takes `image` with a dynamic batch and outputs probabilities, logits, embedding and feature_maps."""
    graph = onnx.load(str(shape_export["out"] / "model.onnx")).graph
    (image,) = graph.input
    assert image.name == INPUT_NAME
    dims = image.type.tensor_type.shape.dim
    assert not dims[0].HasField("dim_value") and [d.dim_value for d in dims[1:]] == [fx.SIZE, fx.SIZE, 3]
    assert {o.name for o in graph.output} == {"probabilities", "logits", "embedding", "feature_maps"}
    assert (
        max(
            op.version
            for op in onnx.load(str(shape_export["out"] / "model.onnx")).opset_import
            if op.domain in ("", "ai.onnx")
        )
        >= 17
    )


def test_fp32_parity_on_trained_model(shape_export):
    """Keras, ONNX fp32 and TFLite fp32 agree to 1e-4 on probabilities of the trained model, top-1 everywhere."""
    holdout_acc = shape_export["sections"]["variants"]["keras"]["accuracy"]
    assert holdout_acc >= 0.8  # a trained model, whose outputs are far from uniform
    for key in ("onnx_fp32", "tflite_fp32"):
        report = shape_export["sections"]["parity"]["fp32"][key]
        assert report["max_abs"]["probabilities"] <= 1e-4
        assert report["max_abs"]["logits"] <= 1e-3
        assert report["max_abs"]["embedding"] <= 1e-3
        assert report["top1_agreement"] == 1.0


def test_parity_detects_a_different_model(shape_export, shape_classifier):
    """Comparing the pruned export with the unpruned one shows a difference, so parity is not vacuous."""
    from ml.parity import compare, run_onnx

    batch = shape_classifier["holdout"][0][:16]
    a = run_onnx(shape_export["out"] / "model.onnx", batch)
    b = run_onnx(shape_export["out"] / "model.unpruned.onnx", batch)
    assert compare(a, b)["max_abs"]["logits"] > 1e-3


def test_dynamic_batch_runs(shape_export, shape_classifier):
    """The same ONNX session accepts batches of 1 and 5."""
    from ml.runtime import open_session

    session = open_session(shape_export["out"] / "model.onnx")
    x = shape_classifier["holdout"][0]
    assert session.run(["probabilities"], {INPUT_NAME: x[:1]})[0].shape == (1, 3)
    assert session.run(["probabilities"], {INPUT_NAME: x[:5]})[0].shape == (5, 3)


def test_int8_onnx_is_smaller_with_quantized_conv_weights(shape_export):
    """model.int8.onnx is smaller than model.onnx and stores every conv and dense weight as int8."""
    out = shape_export["out"]
    assert (out / "model.int8.onnx").stat().st_size < 0.5 * (out / "model.onnx").stat().st_size
    counts = shape_export["sections"]["quantization"]["onnx_int8"]["weights"]
    assert counts["conv"] == counts["conv_total"] == 4
    assert counts["dense"] == counts["dense_total"] == 1
    graph = onnx.load(str(out / "model.int8.onnx")).graph
    assert sum(1 for i in graph.initializer if i.data_type == onnx.TensorProto.INT8) >= 5


def test_fp32_onnx_counts_no_quantized_weights(shape_export):
    """The weight counter reports zero int8 layers on the fp32 file."""
    from ml.quantization import count_quantized_weights

    counts = count_quantized_weights(shape_export["out"] / "model.onnx")
    assert counts["conv"] == 0 and counts["conv_total"] == 4 and counts["int8_parameters"] == 0


def test_quantized_variants_agree_and_report(shape_export):
    """Every quantized variant keeps top-1 agreement high and has a size, accuracy and latency in the card."""
    sections = shape_export["sections"]
    for key in ("onnx_int8", "tflite_dynamic", "tflite_int8", "tflite_float16"):
        assert sections["parity"]["quantized"][key]["top1_agreement"] >= 0.95
        assert sections["sizes"][key]["bytes"] > 0
        assert sections["latency"][key]["p50"] > 0
        assert sections["variants"][key]["accuracy"] >= 0.8
    types = sections["quantization"]["tflite_tensor_types"]
    assert types["tflite_int8"].get("int8", 0) > types["tflite_fp32"].get("int8", 0)
    assert types["tflite_float16"].get("float16", 0) > 0


def test_head_npz_reproduces_logits_through_cam(shape_export, shape_classifier):
    """The spatial mean of the CAM plus the bias equals the logit of that class (the head really is GAP -> Dense)."""
    from ml.cam import class_activation_map, load_head
    from ml.parity import run_onnx

    kernel, bias = load_head(shape_export["out"] / "head.npz")
    out = run_onnx(shape_export["out"] / "model.onnx", shape_classifier["holdout"][0][:4])
    for i in range(4):
        for k in range(3):
            cam = class_activation_map(out["feature_maps"][i], kernel, k)
            assert abs(cam.mean() + bias[k] - out["logits"][i, k]) < 1e-3


def test_activations_model_outputs_every_block(shape_export, shape_classifier):
    """activations.onnx outputs each conv block's activation maps by layer name."""
    from ml.parity import run_onnx

    out = run_onnx(shape_export["out"] / "activations.onnx", shape_classifier["holdout"][0][:2])
    assert set(out) == {"conv1", "conv2_relu", "dw_relu", "pw"}
    assert out["conv1"].shape == (2, 32, 32, 32) and out["pw"].shape == (2, 8, 8, 128)


def test_flatten_inlines_nested_backbone_and_splits_softmax():
    """A nested backbone with a softmax Dense exports the same probabilities, with logits split out."""
    from ml.backend import keras
    from ml.graphs import flatten, predict_named, serving_model

    inner_in = keras.Input((16, 16, 3), name=INPUT_NAME)
    h = keras.layers.Conv2D(4, 3, activation="relu", name="c")(inner_in)
    backbone = keras.Model(inner_in, h, name="backbone")
    outer_in = keras.Input((16, 16, 3), name=INPUT_NAME)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(backbone(outer_in, training=False))
    model = keras.Model(outer_in, keras.layers.Dense(2, activation="softmax", name="head")(x))
    images = np.random.default_rng(0).uniform(0, 1, (3, 16, 16, 3)).astype(np.float32)
    flat = flatten(model)
    assert [layer.name for layer in flat.layers] == [INPUT_NAME, "c", "pool", "logits", "probabilities"]
    out = predict_named(serving_model(model), images)
    np.testing.assert_allclose(out["probabilities"], model.predict(images, verbose=0), atol=1e-6)
    np.testing.assert_allclose(
        out["probabilities"], np.exp(out["logits"]) / np.exp(out["logits"]).sum(1, keepdims=True), atol=1e-6
    )
    assert out["feature_maps"].shape == (3, 14, 14, 4)


def test_tflite_from_one_saved_function_matches_the_keras_converter(tmp_path, shape_classifier):
    """The variants converted from save_for_tflite's folder give what TFLiteConverter.from_keras_model gives."""
    from ml.backend import tf
    from ml.parity import run_tflite
    from ml.quantization import save_for_tflite, to_tflite

    model = shape_classifier["model"]
    images = shape_classifier["holdout"][0][:4]
    source = save_for_tflite(model, tmp_path / "saved")
    ours = to_tflite(source, tmp_path / "ours.tflite", "fp32")
    theirs = tmp_path / "theirs.tflite"
    theirs.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    ours_out, theirs_out = run_tflite(ours, images), run_tflite(theirs, images)
    assert set(ours_out) == set(theirs_out) == {"probabilities"}
    np.testing.assert_allclose(ours_out["probabilities"], theirs_out["probabilities"], atol=1e-6)
    np.testing.assert_allclose(ours_out["probabilities"], model.predict(images, verbose=0), atol=1e-5)
    assert to_tflite(source, tmp_path / "dynamic.tflite", "dynamic").stat().st_size < ours.stat().st_size
