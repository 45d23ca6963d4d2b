"""The backbone registry: every entry builds, exports and serves; nothing else lists the networks."""

import json

import numpy as np
import pytest

from ml import backbones
from ml.backbones import REGISTRY, UnknownBackbone, spec

SMALL = 64  # every network builds at any size from 32 px: small inputs keep this fast


def test_config_and_card_schema_offer_exactly_the_registry():
    """The training option's choices and the card's backbone names are the registry's, in its order."""
    from ml.card import card_schema
    from ml.config import OPTIONS_BY_NAME

    assert OPTIONS_BY_NAME["backbone"].choices == tuple(REGISTRY)
    schema = card_schema()["properties"]["backbone"]["properties"]
    assert schema["requested"]["enum"] == schema["used"]["enum"] == list(REGISTRY)


def test_an_unknown_backbone_names_the_valid_ones():
    with pytest.raises(UnknownBackbone) as refused:
        spec("resnet")
    assert all(name in str(refused.value) for name in REGISTRY)


def test_every_pretrained_entry_says_where_its_weights_come_from():
    """A pip package pinned by SHA-256 (installed as a dependency), or Keras files by width."""
    for entry in REGISTRY.values():
        assert entry.native_size in entry.sizes or not entry.pretrained, entry.name
        if isinstance(entry.weights, backbones.PackageWeights):
            assert len(entry.weights.sha256) == 64 and entry.weights.path() is not None, entry.name
            assert entry.weights.licence.startswith("Apache-2.0")
        elif isinstance(entry.weights, backbones.KerasWeights):
            assert entry.widths, entry.name


def test_the_classroom_default_is_a_pretrained_network_whose_weights_are_installed():
    """A fresh install answers with a pretrained network: no file to copy, nothing to download."""
    from ml.config import defaults
    from ml.weights import resolve_weights

    classroom = defaults("classroom")
    entry = spec(classroom["backbone"])
    assert entry.pretrained and classroom["image_size"] in entry.sizes and entry.tfjs
    resolution = resolve_weights(entry.name, classroom["alpha"], "imagenet", classroom["image_size"], download=False)
    assert resolution.available and resolution.source == "package"


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("backbones")


def _backbone(name):
    from ml.embeddings import Backbone

    entry = spec(name)
    path = entry.weights.path() if isinstance(entry.weights, backbones.PackageWeights) else None
    return Backbone(name, 1.0, SMALL, str(path) if path else "", "0" * 64, "package")


@pytest.mark.parametrize("name", [name for name, entry in REGISTRY.items() if entry.pretrained])
def test_every_entry_builds_exports_and_serves(name, cache):
    """Built from the registry (pip weights, or random weights for Keras files), exported to the backbone
    ONNX file the quick model starts from, and run: an embedding of the declared size and feature maps."""
    from ml.embeddings import Embedder, backbone_onnx

    entry = spec(name)
    alpha = entry.widths[0] if entry.widths else None
    backbone = _backbone(name)
    if not backbone.weights_path:  # Keras files are not installed: the same architecture with random weights
        from ml.models import build_pretrained_backbone

        assert build_pretrained_backbone(name, alpha, SMALL, None).get_layer(entry.cam_layer) is not None
        return
    source = backbone_onnx(backbone, cache)
    photo, mirrored = Embedder(source)(np.random.default_rng(0).uniform(0, 255, (2, SMALL, SMALL, 3)))
    assert photo.shape == (2, entry.embedding_size(alpha)) and np.isfinite(photo).all()
    assert not np.allclose(photo, mirrored)
    info = json.loads((source.parent / "backbone.json").read_text())
    assert info["network"] == name


def test_the_fingerprint_follows_the_code_that_builds_the_network(monkeypatch):
    """Changing the builder's code is another fingerprint (caches are keyed by what produced them)."""
    from ml import embeddings

    backbone = embeddings.Backbone("efficientnet_lite0", 1.0, 224, "w.pth", "a" * 64)
    before = backbone.fingerprint
    embeddings.builder_code_sha256.cache_clear()
    monkeypatch.setattr(embeddings, "EXPORT_CODE", (*embeddings.EXPORT_CODE, "ml.quick"))
    assert backbone.fingerprint != before
    embeddings.builder_code_sha256.cache_clear()


def test_a_tampered_weights_file_is_refused_before_anything_is_built(tmp_path):
    """A file that is not the pinned one never reaches the unpickler: the build refuses it."""
    from ml.torch_pickle import WeightsRefused

    entry = spec("efficientnet_lite0")
    tampered = tmp_path / "efficientnet-lite0.pth"
    data = bytearray(entry.weights.path().read_bytes())
    data[-1] ^= 0xFF
    tampered.write_bytes(bytes(data))
    with pytest.raises(WeightsRefused):
        entry.build(None, SMALL, str(tampered))


def test_a_quick_model_on_lite0_names_what_is_in_the_photo(cache, tmp_path):
    """The backbone's own ImageNet classifier is written beside a quick model: the analysis gives fine names,
    coarse categories that sum their classes' probabilities, and «unsure» below the calibrated threshold."""
    from ml.analysis import analyse
    from ml.embeddings import Embedder, backbone_onnx
    from ml.inference import Predictor
    from ml.quick import QuickData, publish_quick

    backbone = _backbone("efficientnet_lite0")
    source = backbone_onnx(backbone, cache)
    images = np.random.default_rng(1).uniform(0, 255, (12, SMALL, SMALL, 3)).astype(np.float32)
    x, xm = Embedder(source)(images)
    card = publish_quick(tmp_path, backbone=backbone, backbone_file=source, classes=["a", "b"],
                         train=QuickData(x, xm, np.arange(12) % 2), test=None, config={}, dataset_sha256="0" * 64)
    assert card["tags"]["imagenet"]["enabled"] and card["tags"]["imagenet"]["categories"]
    result = analyse(Predictor(tmp_path), images[0], imagenet_k=5)
    assert len(result.imagenet) == 5 and all(isinstance(row["label"], str) for row in result.imagenet)
    ranked = result.imagenet_categories["categories"]
    assert ranked[0]["probability"] >= ranked[1]["probability"] and sum(r["probability"] for r in ranked) <= 1 + 1e-6
    assert result.imagenet_categories["unsure"] == (ranked[0]["probability"] < result.imagenet_categories["unsure_below"])
