"""The lab's computations on a real (tiny, generated) model folder: embeddings, compression, autoencoder, agents."""

import numpy as np
import pytest

from ml.lab import bandit, compression, embeddings, generative, network
from tests.fixtures.models import AE_SIZE, SIZE, write_model_folder

CLASSES = ["rojo", "azul"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny") / "model"
    write_model_folder(path, CLASSES)
    return path


def _photo(colour, seed=0, size=SIZE):
    rng = np.random.default_rng(seed)
    return np.clip(np.array(colour, np.float32) + rng.normal(0, 20, (size, size, 3)), 0, 255).astype(np.float32)


def test_embed_batches_gives_augmented_copies_only_for_training_rows(folder):
    """Every key comes back stacked over the batches; holdout rows of augmented variants are NaN."""
    pixels = np.stack([_photo((200, 40, 40), seed=i) for i in range(5)])
    train = np.array([True, False, True, True, False])
    seen = []
    result = embeddings.embed_batches(
        folder, [(pixels[:3], train[:3]), (pixels[3:], train[3:])], total=5, progress=lambda f, m: seen.append(m)
    )
    assert set(result) == set(embeddings.EMBEDDING_KEYS)
    assert result["original"].shape[0] == 5 and not np.isnan(result["original"]).any()
    for variant in embeddings.TRAIN_VARIANTS:
        assert np.isnan(result[variant][~train]).all() and not np.isnan(result[variant][train]).any()
    assert not np.allclose(result["flip"][train], result["bright"][train])
    assert result["ae_error"].shape == (5,) and (result["ae_error"] > 0).all()  # resized to the autoencoder's side
    assert seen == ["3/5", "5/5"]


def test_compare_variants_reads_sizes_histograms_answers_and_maps(folder):
    """Each classifier file gets its size and histogram; with a photo, its answer, latency and CAM overlay."""
    red = _photo((220, 30, 30))
    variants = compression.compare_variants(folder, red, CLASSES)
    assert set(variants) == {"fp32", "int8", "unpruned"}
    assert {row["label"] for row in variants.values()} == {"rojo"}
    assert all(row["latency_ms"] > 0 and row["heatmap"].shape == (SIZE, SIZE, 3) for row in variants.values())
    assert variants["unpruned"]["kernel_source"] == "model.unpruned.onnx"
    assert variants["fp32"]["kernel_source"] == "head.npz"
    assert variants["int8"]["histogram"]["limit"] == variants["fp32"]["histogram"]["limit"]  # one shared axis
    bare = compression.compare_variants(folder, None, CLASSES)
    assert "label" not in bare["fp32"] and bare["fp32"]["bytes"] == variants["fp32"]["bytes"]


def test_reconstructions_show_the_copy_and_where_it_differs(folder):
    """A flat photo is copied almost perfectly; a noisy one has a larger error."""
    autoencoder = generative.Reconstructions(folder)
    assert autoencoder.input_size == AE_SIZE
    flat = autoencoder.view(np.full((AE_SIZE, AE_SIZE, 3), 120.0, np.float32))
    noisy = autoencoder.view(_photo((120, 120, 120), size=AE_SIZE))
    assert flat["error"] < 1e-6 < noisy["error"]
    assert noisy["reconstruction"].shape == (AE_SIZE, AE_SIZE, 3)
    assert noisy["error_map"].dtype == np.uint8 and noisy["error_map"].shape[-1] == 3


def test_augmentation_bandit_plays_every_policy_and_reports_both_players():
    """On separable embeddings the agent tries every policy, and the baseline plays as many rounds."""
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 20)
    original = rng.normal(size=(40, 8)) + labels[:, None] * 3.0
    emb = {"original": original, **{v: original + rng.normal(0, 0.1, original.shape) for v in embeddings.TRAIN_VARIANTS}}
    result = bandit.augmentation_bandit(emb, labels, np.arange(40), 2)
    assert result["actions"] == list(bandit.POLICIES)
    assert all(count >= 1 for count in result["agent"]["counts"].values())
    assert len(result["random"]["rewards"]) == bandit.BANDIT_STEPS
    assert result["agent"]["values"][result["agent"]["best"]] > 0.9


def test_colour_example_learns_one_photo():
    """The tiny network sees the photo's mean colour and its loss falls step after step."""
    example = network.colour_example(_photo((200, 40, 40)), target=0, classes=2, seed=3)
    assert example["inputs"][0] > 0.7 > example["inputs"][2]
    losses = [step["loss"] for step in example["steps"]]
    assert len(losses) == network.COLOUR_STEPS + 1 and losses[-1] < losses[0]
