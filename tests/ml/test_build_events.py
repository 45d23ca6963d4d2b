"""The build event says which network a run trains and, when pretrained weights are missing, why, as a key and
parameters (never an English sentence), for every way the weights can be found or missed."""

import pytest

from ml.config import TrainConfig
from ml.events import MESSAGES, Event, backbone_event
from ml.training import build_model
from ml.weights import resolve_weights


def event_of(backbone, alpha, resolution, **flags):
    key, params = backbone_event(backbone, alpha, resolution, **flags)
    return key, params, Event("build", key, 1.0, params).text  # refused when the key is unknown


def test_each_missing_weights_case_has_its_own_key_and_parameters(tmp_path):
    missing_named = resolve_weights("mobilenet", 0.25, "absent.h5", 224, weights_dir=tmp_path)
    assert event_of("mobilenet", 0.25, missing_named, pretrained=False, fallback=True)[:2] == (
        "build.fallback_file_missing", {"backbone": "MobileNet", "alpha": 0.25, "file": "absent.h5"})

    no_imagenet = resolve_weights("mobilenet", 0.3, "imagenet", 224, weights_dir=tmp_path)
    key, params, text = event_of("mobilenet", 0.3, no_imagenet, pretrained=False, fallback=True)
    assert key == "build.fallback_no_imagenet" and text.endswith("MobileNet 0.3; training the scratch CNN instead")

    not_found = resolve_weights("mobilenet_v2", 0.35, "imagenet", 224, weights_dir=tmp_path, download=False)
    key, params, _ = event_of("mobilenet_v2", 0.35, not_found, pretrained=False, fallback=True)
    assert key == "build.fallback_not_found" and params["folder"] == str(tmp_path.resolve())
    assert params["file"] == "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5"

    no_folder = resolve_weights("mobilenet", 0.25, "imagenet", 224, download=False)
    if no_folder.available:  # the Keras cache of this machine holds the file: nothing is missing
        pytest.skip("the Keras cache holds the weights")
    assert event_of("mobilenet", 0.25, no_folder, pretrained=False, fallback=True)[0] == "build.fallback_no_folder"


def test_a_found_file_and_the_networks_without_pretraining_name_what_was_built(tmp_path):
    (tmp_path / "mine.h5").write_bytes(b"weights")
    found = resolve_weights("mobilenet", 0.25, "mine.h5", 224, weights_dir=tmp_path)
    key, params, text = event_of("mobilenet", 0.25, found, pretrained=True, fallback=False)
    assert key == "build.pretrained_directory" and params["file"] == "mine.h5" and "mine.h5" in text

    random = resolve_weights("mobilenet", 0.25, "none", 224)
    assert event_of("mobilenet", 0.25, random, pretrained=False, fallback=False)[:2] == (
        "build.random", {"backbone": "MobileNet", "alpha": 0.25})
    assert event_of("scratch", 1.0, resolve_weights("scratch", 1.0, "imagenet", 224), pretrained=False,
                    fallback=False)[:2] == ("build.scratch", {})


def test_a_weights_file_that_cannot_be_loaded_says_so_with_its_error(tmp_path):
    """A damaged file makes the run fall back; the event names the file and carries the loader's error."""
    (tmp_path / "broken.h5").write_bytes(b"not an HDF5 file")
    config = TrainConfig(backbone="mobilenet", alpha=0.25, weights="broken.h5", image_size=32)
    _, info = build_model(config, 2, resolve_weights("mobilenet", 0.25, "broken.h5", 32, weights_dir=tmp_path))
    assert info["fallback"] and info["event"]["key"] == "build.fallback_unreadable"
    assert info["event"]["params"]["file"] == "broken.h5" and info["event"]["params"]["error"]
    assert info["event"]["key"] in MESSAGES
