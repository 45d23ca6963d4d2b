"""Model builders, weights resolution and the fine-tuning mechanics."""

import numpy as np
import pytest

from ml.backend import keras
from ml.config import TrainConfig
from ml.datasets import load_image_data
from ml.errors import WeightsError
from ml.models import (
    BACKBONE,
    HEAD_POOL,
    HEAD_PREDICTIONS,
    build_classifier,
    build_scratch_backbone,
    compile_model,
    freeze_backbone,
    unfreeze_top,
)
from ml.training import build_model
from ml.weights import resolve_weights, standard_file_names


def _small_base(size=32):
    """A small conv base with batch norm, standing in for a pretrained backbone."""
    inputs = keras.Input((size, size, 3))
    x = inputs
    for i, width in enumerate((8, 16, 16)):
        x = keras.layers.Conv2D(width, 3, padding="same", name=f"conv{i}")(x)
        x = keras.layers.BatchNormalization(name=f"bn{i}")(x)
        x = keras.layers.ReLU(name=f"relu{i}")(x)
        if i < 2:
            x = keras.layers.MaxPooling2D(name=f"pool{i}")(x)
    return keras.Model(inputs, x, name=BACKBONE)


def test_scratch_model_has_the_shared_head():
    """The scratch CNN ends in GAP -> dropout -> one dense softmax over the backbone's feature maps."""
    model = build_classifier(build_scratch_backbone(48, (8, 16)), 3, dropout=0.2, l2=1e-4, pretrained=False)
    assert [layer.name for layer in model.layers[-3:]] == [HEAD_POOL, "head_dropout", HEAD_PREDICTIONS]
    assert model.get_layer(BACKBONE).output_shape == (None, 12, 12, 16)
    assert model.output_shape == (None, 3)
    assert any(isinstance(layer, keras.layers.BatchNormalization) for layer in model.get_layer(BACKBONE).layers)
    probs = model(np.zeros((2, 48, 48, 3), np.float32)).numpy()
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_fine_tuning_freezes_then_unfreezes_top_layers_with_bn_in_inference(shapes_dir):
    """Phase 1 changes only the head; phase 2 changes only the top N non-BN layers; BN stats never move."""
    data = load_image_data(shapes_dir, 32)
    keras.utils.set_random_seed(0)
    # "Pretrain" the base on the shapes so it holds real learned filters and BN statistics.
    base = _small_base()
    pretrain = compile_model(build_classifier(base, 3, 0.0, 0.0, pretrained=False), 3e-3)
    pretrain.fit(data.x, data.y, epochs=2, batch_size=16, verbose=0)
    # Shift the inputs so BN in training mode would see different statistics than it stored.
    x = data.x * 0.5 + 0.3

    model = build_classifier(base, 3, dropout=0.2, l2=1e-4, pretrained=True)
    freeze_backbone(model)
    compile_model(model, 1e-2)
    before = [w.copy() for w in base.get_weights()]
    head_before = model.get_layer(HEAD_PREDICTIONS).get_weights()[0].copy()
    model.fit(x, data.y, epochs=1, batch_size=16, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, base.get_weights()))
    assert not np.array_equal(head_before, model.get_layer(HEAD_PREDICTIONS).get_weights()[0])

    unfrozen = unfreeze_top(model, 4)  # conv2, bn2, relu2 and pool1 are the last four layers
    assert unfrozen == ["conv2"]
    assert not base.get_layer("bn2").trainable and not base.get_layer("conv1").trainable
    compile_model(model, 1e-2)
    snapshot = {name: [w.copy() for w in base.get_layer(name).get_weights()] for name in ("conv1", "conv2", "bn2")}
    model.fit(x, data.y, epochs=1, batch_size=16, verbose=0)
    after = {name: base.get_layer(name).get_weights() for name in snapshot}
    assert not np.array_equal(snapshot["conv2"][0], after["conv2"][0])  # unfrozen layer learned
    assert np.array_equal(snapshot["conv1"][0], after["conv1"][0])  # below the cut: untouched
    for old, new in zip(snapshot["bn2"], after["bn2"]):  # gamma, beta, moving mean and variance
        assert np.array_equal(old, new)


def test_standard_weights_names_follow_keras():
    """Weights file names are the ones Keras Applications download."""
    assert standard_file_names("mobilenet", 0.25, 224)[0] == "mobilenet_2_5_224_tf_no_top.h5"
    assert standard_file_names("mobilenet", 0.25, 160)[0] == "mobilenet_2_5_160_tf_no_top.h5"
    assert standard_file_names("mobilenet_v2", 0.35, 96)[0] == (
        "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5")


def test_weights_resolved_from_directory_then_cache(tmp_path, monkeypatch):
    """ImageNet weights come from the weights folder first, then the Keras cache; else none (no download)."""
    weights_dir, cache = tmp_path / "weights", tmp_path / "cache"
    weights_dir.mkdir(), cache.mkdir()
    monkeypatch.setattr("ml.weights.keras_cache_dir", lambda: cache)
    none = resolve_weights("mobilenet", 0.25, "imagenet", 128, weights_dir=weights_dir, download=False)
    assert not none.available and none.source == "none"
    # The reason names the file and where it was looked for, so a teacher knows where to put it.
    assert none.message == (f"mobilenet_2_5_128_tf_no_top.h5 is neither in RIIM_WEIGHTS_DIR ({weights_dir}) "
                            "nor in the Keras cache")
    (cache / "mobilenet_2_5_224_tf_no_top.h5").write_bytes(b"x")
    assert resolve_weights("mobilenet", 0.25, "imagenet", 128, weights_dir=weights_dir, download=False).source == "cache"
    (weights_dir / "mobilenet_2_5_128_tf_no_top.h5").write_bytes(b"x")
    found = resolve_weights("mobilenet", 0.25, "imagenet", 128, weights_dir=weights_dir, download=False)
    assert found.source == "directory" and found.to_dict()["file"] == "mobilenet_2_5_128_tf_no_top.h5"


def test_weights_folder_is_an_argument_not_the_environment(tmp_path, monkeypatch):
    """The engine reads no environment variable: only the folder it is given is searched."""
    (tmp_path / "mobilenet_2_5_128_tf_no_top.h5").write_bytes(b"x")
    (tmp_path / "mine.h5").write_bytes(b"x")
    monkeypatch.setenv("RIIM_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setattr("ml.weights.keras_cache_dir", lambda: tmp_path / "no-cache")
    assert resolve_weights("mobilenet", 0.25, "imagenet", 128, download=False).source == "none"
    assert resolve_weights("mobilenet", 0.25, "mine.h5", 128, download=False).source == "none"
    given = resolve_weights("mobilenet", 0.25, "imagenet", 128, weights_dir=tmp_path, download=False)
    assert given.source == "directory"


@pytest.mark.parametrize("name", ["../outside.h5", "/etc/passwd", "sub/../../x.h5"])
def test_weights_outside_the_directory_are_refused(tmp_path, name):
    """A weights path that leaves the weights folder is refused before anything is opened."""
    with pytest.raises(WeightsError, match="inside RIIM_WEIGHTS_DIR"):
        resolve_weights("mobilenet", 0.25, name, 224, weights_dir=tmp_path)


def test_pretrained_mobilenet_loads_directory_weights_and_falls_back_without(tmp_path):
    """MobileNet loads the named file from the directory; a missing file falls back to scratch."""
    reference = keras.applications.MobileNet(input_shape=(32, 32, 3), alpha=0.25, include_top=False, weights=None)
    reference.save_weights(tmp_path / "mine.h5")
    config = TrainConfig(backbone="mobilenet", alpha=0.25, weights="mine.h5", image_size=32)
    model, info = build_model(config, 2, resolve_weights("mobilenet", 0.25, "mine.h5", 32, weights_dir=tmp_path))
    assert info["pretrained"] and info["weights"]["source"] == "directory" and not info["fallback"]
    loaded = model.get_layer(BACKBONE).get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(reference.get_weights(), loaded))

    missing = config.replace(weights="absent.h5")
    model, info = build_model(missing, 2, resolve_weights("mobilenet", 0.25, "absent.h5", 32, weights_dir=tmp_path))
    assert info["fallback"] and info["used"] == "scratch" and "Falling back" in info["fallback_reason"]
    assert model.get_layer(BACKBONE).get_layer("stem_conv")


def test_mobilenet_v2_backbone_takes_the_shared_head():
    """MobileNetV2 (with alpha) builds as the nested backbone under the same head."""
    from ml.models import build_pretrained_backbone

    base = build_pretrained_backbone("mobilenet_v2", 0.35, 32, None)
    model = build_classifier(base, 2, dropout=0.2, l2=0.0, pretrained=True)
    assert model.get_layer(BACKBONE).output_shape == (None, 1, 1, 1280)
    assert model.output_shape == (None, 2)
