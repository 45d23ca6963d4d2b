"""An autoencoder built once from a collection's photos, copied into model folders that lack one."""

import json

import numpy as np
import pytest

from ml import shared_autoencoder
from tests.fixtures import models as fx


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A shared autoencoder trained on twelve shape drawings (labels never given)."""
    fx.pin_tensorflow(0)
    images = fx.shapes(4, seed=3)[0]
    folder = tmp_path_factory.mktemp("shared") / "autoencoder"
    section = shared_autoencoder.build(images, folder)
    return folder, section, images


def test_build_writes_the_graph_and_its_card_section(built):
    """The folder holds autoencoder.onnx and its section: 64 px input, the photos it saw, a falling loss."""
    folder, section, images = built
    assert (folder / "autoencoder.onnx").is_file()
    assert json.loads((folder / shared_autoencoder.SECTION_FILE).read_text()) == section
    assert section["input"]["size"] == shared_autoencoder.IMAGE_SIZE == 64
    assert section["images"] == len(images) and section["outputs"] == ["reconstruction", "error_map"]
    # Twelve photos make one batch per epoch: the step floor gives them more epochs than a full run's ten.
    assert section["epochs"] == shared_autoencoder.epochs_for(len(images), 10) > 10
    assert section["loss"][-1] < section["loss"][0] and section["shared"]["seconds"] > 0


def test_attached_copy_serves_reconstructions_and_error_maps(built, tmp_path):
    """Copied into a served folder without one, the autoencoder answers through the lab and the server's Predictor."""
    from ml.inference import Predictor
    from ml.lab.generative import Reconstructions
    from tests.fixtures.served import SIZE, write_served_folder

    folder, section, images = built
    model_dir = tmp_path / "model"
    card = write_served_folder(model_dir)
    (model_dir / "autoencoder.onnx").unlink()
    card.pop("autoencoder")
    card["files"].pop("autoencoder")
    assert shared_autoencoder.attach(folder, model_dir) == section
    completed = shared_autoencoder.card_with_autoencoder(card, section)
    assert completed["files"]["autoencoder"] == "autoencoder.onnx" and completed["autoencoder"] == section
    assert {k: v for k, v in completed.items() if k != "autoencoder"} == {**card, "files": completed["files"]}

    reconstructions = Reconstructions(model_dir)
    assert reconstructions.input_size == 64
    view = reconstructions.view(fx.shapes(1, seed=9)[0][0].repeat(2, 0).repeat(2, 1))
    assert view["reconstruction"].shape == (64, 64, 3) and view["error_map"].shape == (64, 64, 3)
    assert 0 <= view["reconstruction"].min() and view["reconstruction"].max() <= 255 and view["error"] > 0
    # The server draws the error map at the classifier's input side, whatever the autoencoder's.
    error = Predictor(model_dir).error_map(np.full((SIZE, SIZE, 3), 128, np.float32))
    assert error.shape == (SIZE, SIZE) and np.isfinite(error).all()


def test_too_few_photos_build_nothing(tmp_path):
    """Below the minimum the build refuses before training, naming the numbers."""
    with pytest.raises(shared_autoencoder.TooFewImages, match="9 photos; an autoencoder needs at least 10"):
        shared_autoencoder.build(np.zeros((9, 32, 32, 3), np.float32), tmp_path / "autoencoder")
    assert not (tmp_path / "autoencoder").exists()


def test_small_collections_get_more_epochs_large_ones_the_default():
    """Epochs rise until a build makes MIN_STEPS gradient steps, between the default and MAX_EPOCHS."""
    assert shared_autoencoder.epochs_for(10, 10) == shared_autoencoder.MAX_EPOCHS
    assert shared_autoencoder.epochs_for(320, 10) == 10
    assert shared_autoencoder.epochs_for(96, 10) == 27  # three batches an epoch, 80 steps
