"""Multi-label tag head on the embedding and ImageNet top-k labels."""

import json

import numpy as np


def test_tag_head_learns_tag_independent_of_class(shape_export, shape_classifier):
    """The 'dark' tag is predicted on holdout images with F1 above 0.8 using the exported tags.onnx and its threshold."""
    from ml.parity import run_onnx
    from ml.runtime import open_session
    from ml.tags import read_tag_metadata

    assert shape_export["sections"]["tags"]["trained"] is True
    names, thresholds = read_tag_metadata(shape_export["out"] / "tags.onnx")
    assert names == ["dark"]
    data = shape_classifier
    embeddings = run_onnx(shape_export["out"] / "model.onnx", data["holdout"][0], outputs=("embedding",))["embedding"]
    probs = open_session(shape_export["out"] / "tags.onnx").run(["tag_probabilities"], {"embedding": embeddings})[0][:, 0]
    predicted = probs >= thresholds[0]
    truth = np.array(["dark" in t for t in data["holdout_tags"]])
    tp = (predicted & truth).sum()
    f1 = 2 * tp / (predicted.sum() + truth.sum())
    assert f1 > 0.8


def test_rare_tags_are_not_trained():
    """A tag on too few images gives no head and the reason says so."""
    from ml.tags import fit_tag_head, usable_tags

    tags = [["rare"]] * 3 + [[]] * 40
    assert usable_tags(tags) == []
    x = np.random.default_rng(0).normal(size=(43, 4))
    assert fit_tag_head(x, tags, x, tags) is None


def test_onnx_head_matches_numpy(tmp_path):
    """tags.onnx computes the same probabilities as the fitted head."""
    from ml.runtime import open_session
    from ml.tags import export_tag_head, fit_tag_head

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 5))
    tags = [["a"] if v > 0 else [] for v in x[:, 0]]
    head = fit_tag_head(x, tags, x, tags)
    export_tag_head(head, tmp_path / "tags.onnx")
    got = open_session(tmp_path / "tags.onnx").run(["tag_probabilities"], {"embedding": x.astype(np.float32)})[0]
    np.testing.assert_allclose(got, head.probabilities(x), atol=1e-5)
    assert head.validation["a"]["f1"] > 0.9


def test_imagenet_top_k_with_translation(tmp_path):
    """ImageNet labels come from the class index, with Spanish names where a translation exists."""
    from ml.tags import imagenet_top_k, load_class_index, save_imagenet_head

    index = {"0": ["n01", "tabby_cat"], "1": ["n02", "golden_retriever"], "2": ["n03", "teapot"]}
    (tmp_path / "index.json").write_text(json.dumps(index))
    (tmp_path / "es.json").write_text(json.dumps({"n01": "gato atigrado", "teapot": "tetera"}))
    kernel = np.eye(4, 3)[None, None]  # a 1x1 convolution classifier as MobileNet has
    save_imagenet_head(tmp_path / "head.npz", kernel, np.zeros(3))
    names = load_class_index(tmp_path / "index.json", tmp_path / "es.json")
    assert names == ["gato atigrado", "golden retriever", "tetera"]
    top = imagenet_top_k(np.array([0.0, 5.0, 1.0, 0.0]), tmp_path / "head.npz", names, k=2)
    assert [t["label"] for t in top] == ["golden retriever", "tetera"]
    assert top[0]["probability"] > top[1]["probability"]
    assert load_class_index(tmp_path / "index.json")[0] == "tabby cat"


def test_imagenet_tags_are_off_by_default(shape_export):
    """The card says ImageNet tags were not computed unless asked for."""
    assert shape_export["sections"]["tags"]["imagenet"] == {"enabled": False}
