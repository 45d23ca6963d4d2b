"""The TF.js export: Teachable Machine's input, one output, a topology TF.js 1.3.1 knows, float32 weights."""

import json

import numpy as np
import pytest

from tests.fixtures import models as fx


def _manifest_weights(folder):
    document = json.loads((folder / "tfjs" / "model.json").read_text())
    (group,) = document["weightsManifest"]
    raw = (folder / "tfjs" / group["paths"][0]).read_bytes()
    values, offset = {}, 0
    for spec in group["weights"]:
        count = int(np.prod(spec["shape"])) if spec["shape"] else 1
        values[spec["name"]] = np.frombuffer(raw, "<f4", count, offset).reshape(spec["shape"])
        offset += 4 * count
    assert offset == len(raw), "weights.bin holds exactly the manifest's weights"
    return document, values


def test_export_writes_the_teachable_machine_files(shape_export):
    """The pipeline's TF.js stage writes model.json, weights.bin and metadata.json and lists them in the card files."""
    from ml.runtime import TFJS_FILES

    out = shape_export["out"]
    for name in TFJS_FILES.values():
        assert (out / name).is_file(), name
    assert set(TFJS_FILES.values()) <= set(shape_export["sections"]["files"].values())
    metadata = json.loads((out / "tfjs" / "metadata.json").read_text())
    assert metadata["labels"] == list(fx.CLASSES)  # in output order
    assert metadata["imageSize"] == fx.SIZE
    assert metadata["packageName"] == "@teachablemachine/image" and metadata["tfjsVersion"] == "1.3.1"


def test_topology_uses_only_what_tfjs_1_3_1_knows(shape_export):
    """The topology is a "Model" of supported layers, with no Keras 2.13+ keys, one output and the library's input."""
    from ml.tfjs import DROPPED_KEYS, SUPPORTED_LAYERS

    document, values = _manifest_weights(shape_export["out"])
    topology = document["modelTopology"]
    assert document["format"] == "layers-model" and topology["class_name"] == "Model"
    layers = topology["config"]["layers"]
    assert {layer["class_name"] for layer in layers} <= SUPPORTED_LAYERS
    text = json.dumps(topology)
    assert not any(f'"{key}"' in text for key in DROPPED_KEYS)
    assert topology["config"]["output_layers"] == [["probabilities", 0, 0]]
    assert all(":" not in name for name in values)
    assert all(layer["config"].get("kernel_regularizer") is None for layer in layers)


def test_stored_weights_reproduce_the_served_probabilities(shape_export, shape_classifier):
    """The weights as written, in a Keras twin of the topology, give the served model's probabilities from pixels / 127 - 1."""
    from ml.backend import keras
    from ml.parity import run_onnx
    from ml.tfjs import TM_PIXEL_DIVISOR

    document, values = _manifest_weights(shape_export["out"])
    config = document["modelTopology"]["config"]
    twin = keras.Model.from_config(config)
    for layer in twin.layers:
        if layer.weights:
            layer.set_weights([values[f"{layer.name}/{w.name.split('/')[-1].split(':')[0]}"] for w in layer.weights])
    pixels = shape_classifier["holdout"][0][:16]
    served = run_onnx(shape_export["out"] / "model.onnx", pixels, outputs=("probabilities",))["probabilities"]
    got = twin.predict(pixels / TM_PIXEL_DIVISOR - 1.0, verbose=0)
    assert np.abs(got - served).max() <= 1e-4
    assert shape_export["sections"]["tfjs"]["parity"]["max_abs_diff"] <= 1e-4


def test_served_input_scaling_is_folded_exactly():
    """A served graph with the engine's x / 127.5 - 1 scaling gets the same probabilities from the library's x / 127 - 1."""
    from ml.graphs import flatten, with_input_scaling
    from ml.tfjs import predict_tm, tm_model

    flat = flatten(with_input_scaling(fx.build_classifier(), 1 / 127.5, -1.0))
    twin = tm_model(flat)
    assert "Rescaling" not in {type(layer).__name__ for layer in twin.layers}
    pixels = np.random.default_rng(0).integers(0, 256, (4, fx.SIZE, fx.SIZE, 3)).astype(np.float32)
    assert np.abs(predict_tm(twin, pixels) - flat.predict(pixels, verbose=0)).max() <= 1e-5


def test_a_layer_tfjs_cannot_load_is_refused(tmp_path):
    """A model with a layer type outside TF.js 1.3.1 is refused with its name, and nothing half-written is kept as valid."""
    from ml.backend import keras
    from ml.tfjs import UnsupportedModel, export_tfjs

    inputs = keras.Input((8, 8, 3), name="image")
    x = keras.layers.Conv2D(4, 3, name="conv")(inputs)
    x = keras.layers.UnitNormalization(name="unit_norm")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = keras.layers.Dense(2, activation="softmax", name="probabilities")(x)
    with pytest.raises(UnsupportedModel, match="UnitNormalization"):
        export_tfjs(keras.Model(inputs, outputs), tmp_path, ["a", "b"])
    assert not (tmp_path / "tfjs").exists()


def test_the_export_without_class_names_says_so(tmp_path):
    """Without class names the stage writes nothing and the card section says why."""
    from ml.export import ExportRun, tfjs_stage

    run = ExportRun(tmp_path, (np.zeros((0, 8, 8, 3)), np.zeros(0)), (np.zeros((0, 8, 8, 3)), np.zeros(0)))
    section = tfjs_stage(run, None, None)
    assert section["enabled"] is False and section["reason"]
    assert not (tmp_path / "tfjs").exists()


def _lopsided_pictures(rng, n, size):
    """Pictures that are not left-right symmetric: a horizontal ramp, a bright block on the left, noise."""
    ramp = np.linspace(0, 160, size, dtype=np.float32)[None, None, :, None]
    pixels = ramp + rng.uniform(0, 60, (n, size, size, 3)).astype(np.float32)
    pixels[:, size // 4 : size // 2, 2 : size // 3] = rng.uniform(180, 255, (n, 1, 1, 3))
    return np.clip(pixels, 0, 255)


def _mobilenet_weights(path, size, pictures):
    """Save a random-weight MobileNet 0.25 whose batch normalisations hold one batch's statistics of ``pictures``.

    Freshly initialised, its 13 blocks shrink the features to ~1e-18: every picture, and its mirror,
    would get the head's bias alone, and a missing mirror would go unnoticed.
    """
    from ml.backend import keras

    keras.utils.set_random_seed(0)
    base = keras.applications.MobileNet(input_shape=(size, size, 3), alpha=0.25, include_top=False, weights=None)
    for layer in base.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = 0.0
    base(pictures / 127.5 - 1.0, training=True)
    base.save_weights(path)
    return path


def test_quick_model_export_averages_the_photo_and_its_mirror(tmp_path):
    """A quick model's TF.js copy, read back from its files, gives the served answer: the mean of the head's
    probabilities on the photo and on its mirror (``QuickHead.predict_proba``), not the photo's alone."""
    from ml.backend import keras
    from ml.quick import QuickHead
    from ml.tfjs import MIRROR_FLIP, export_quick_tfjs, mirror_kernel, predict_tm, quick_classifier

    rng = np.random.default_rng(0)
    size = 64
    pixels = _lopsided_pictures(rng, 6, size)
    assert (np.abs(pixels - pixels[:, :, ::-1]).mean(axis=(1, 2, 3)) > 10).all()  # far from symmetric
    weights = _mobilenet_weights(tmp_path / "mobilenet_2_5_224_tf_no_top.h5", size, pixels)
    common = {"network": "mobilenet", "alpha": 0.25, "image_size": size, "weights_path": str(weights)}
    # The reference: the photo-only twin's embeddings of each picture and of its numpy mirror, then the head.
    photo_only = quick_classifier(**common, kernel=np.zeros((256, 3), np.float32), bias=np.zeros(3, np.float32))
    embed = keras.Model(photo_only.input, photo_only.get_layer("embedding").output)
    x, x_mirror = embed.predict(pixels, verbose=0), embed.predict(pixels[:, :, ::-1], verbose=0)
    kernel = (rng.normal(0, 1, (256, 3)) * 3 / np.linalg.norm(x - x.mean(0), axis=1).mean()).astype(np.float32)
    bias = np.array([0.1, -0.2, 0.05], np.float32)
    head = QuickHead(kernel, bias, c=1.0, temperature=1.0)
    served = head.predict_proba(x, x_mirror)

    section = export_quick_tfjs(tmp_path / "out", **common, kernel=kernel, bias=bias, classes=["a", "b", "c"],
                                cache_dir=tmp_path / "cache")
    assert section["enabled"] and section["mirror_averaging"] is True
    document, values = _manifest_weights(tmp_path / "out")
    layers = {layer["name"]: layer for layer in document["modelTopology"]["config"]["layers"]}
    assert layers[MIRROR_FLIP]["config"]["trainable"] is False and not layers[MIRROR_FLIP]["config"]["use_bias"]
    np.testing.assert_array_equal(values[f"{MIRROR_FLIP}/kernel"], mirror_kernel(size))
    twin = keras.Model.from_config(document["modelTopology"]["config"])
    for layer in twin.layers:
        if layer.weights:
            layer.set_weights([values[f"{layer.name}/{w.name.split('/')[-1].split(':')[0]}"] for w in layer.weights])
    got = predict_tm(twin, pixels)
    assert np.abs(got - served).max() <= 1e-4
    # The pictures tell the two answers apart: a copy that classified the photo alone would fail above.
    assert np.abs(head.predict_proba(x, x) - served).max() >= 1e-2
    np.testing.assert_allclose(predict_tm(twin, pixels[:, :, ::-1]), got, atol=1e-5)  # a mirror gets the same answer


def test_quick_export_from_the_cached_template_equals_the_tensorflow_export(tmp_path):
    """The numpy path (the backbone's cached template plus a new head, here with another class count) writes the
    very files the TensorFlow path writes; the template keeps no head weights and a second run reuses it."""
    from ml.backend import keras
    from ml.tfjs import QUICK_TEMPLATE_DIR, QUICK_TEMPLATE_FILE, export_quick_tfjs

    rng = np.random.default_rng(1)
    weights = tmp_path / "mobilenet_2_5_224_tf_no_top.h5"  # fixed weights: each TensorFlow build starts from them
    keras.applications.MobileNet(input_shape=(64, 64, 3), alpha=0.25, include_top=False, weights=None).save_weights(weights)
    common = {"network": "mobilenet", "alpha": 0.25, "image_size": 64, "weights_path": str(weights)}
    cache = tmp_path / "cache"
    export_quick_tfjs(tmp_path / "first", **common, kernel=rng.normal(0, 0.5, (256, 2)).astype(np.float32),
                      bias=np.zeros(2, np.float32), classes=["a", "b"], cache_dir=cache)
    template = cache / QUICK_TEMPLATE_DIR / QUICK_TEMPLATE_FILE
    built = template.stat().st_mtime_ns
    assert "logits/kernel" not in template.read_text()
    kernel, bias = rng.normal(0, 0.5, (256, 4)).astype(np.float32), rng.normal(0, 0.1, 4).astype(np.float32)
    cached = export_quick_tfjs(tmp_path / "cached", **common, kernel=kernel, bias=bias, classes=list("wxyz"),
                               cache_dir=cache)
    assert template.stat().st_mtime_ns == built
    direct = export_quick_tfjs(tmp_path / "direct", **common, kernel=kernel, bias=bias, classes=list("wxyz"))
    assert cached == direct
    assert (tmp_path / "cached/tfjs/weights.bin").read_bytes() == (tmp_path / "direct/tfjs/weights.bin").read_bytes()
    assert (json.loads((tmp_path / "cached/tfjs/model.json").read_text())
            == json.loads((tmp_path / "direct/tfjs/model.json").read_text()))
    with pytest.raises(ValueError, match="3 class names for 4 outputs"):
        export_quick_tfjs(tmp_path / "bad", **common, kernel=kernel, bias=bias, classes=list("wxy"), cache_dir=cache)
