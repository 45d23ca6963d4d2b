"""anomaly.json: the browser's copy of the served files' detectors gives the server's score and verdict."""

import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from tests.fixtures import models as fx

CLASSES = ["red", "blue"]
REFERENCE_DIM = 8


def _pictures(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Noisy reddish (class 0) and bluish (class 1) pictures at the hand-written folder's size."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    base = np.where(labels[:, None] == 0, [[200, 40, 50]], [[40, 50, 200]])
    images = base[:, None, None, :] + rng.normal(0, 30, (n, fx.SIZE, fx.SIZE, 3))
    return np.clip(images, 0, 255).astype(np.float32), labels


def _with_early_features(path: Path) -> None:
    """Give a hand-written classifier an ``early_features`` output (its feature maps), as backbones do."""
    model = onnx.load(str(path))
    model.graph.node.append(helper.make_node("Identity", ["feature_maps"], ["early_features"]))
    model.graph.output.append(helper.make_tensor_value_info("early_features", TensorProto.FLOAT, None))
    onnx.save(model, str(path))


def _reference(path: Path) -> None:
    """A reference tail fed by ``early_features``: a fixed projection, ReLU and global average pooling."""
    projection = np.random.default_rng(7).normal(size=(fx.CHANNELS, REFERENCE_DIM)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["early_features", "projection"], ["projected"]),
         helper.make_node("Relu", ["projected"], ["activated"]),
         helper.make_node("ReduceMean", ["activated"], ["embedding"], axes=[1, 2], keepdims=0)],
        "reference",
        [helper.make_tensor_value_info("early_features", TensorProto.FLOAT, ["N", fx.SIZE, fx.SIZE, fx.CHANNELS])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(projection, "projection")],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))


@pytest.fixture(scope="module")
def paired_folder(tmp_path_factory) -> Path:
    """A served folder whose fp32 and int8 files are each paired with a reference fed by their early features."""
    from ml.anomaly import detector_embeddings, fit_detector, save_detectors

    folder = tmp_path_factory.mktemp("paired")
    fx.write_model_folder(folder, CLASSES)
    for name in ("model.onnx", "model.int8.onnx"):
        _with_early_features(folder / name)
    _reference(folder / "reference.onnx")
    images, labels = _pictures(120, seed=0)
    embeddings = detector_embeddings(folder, images)
    assert set(embeddings) == {"fp32", "int8", "unpruned", "reference", "reference_int8"}
    save_detectors(folder / "anomaly.npz", {v: fit_detector(e, labels) for v, e in embeddings.items()})
    return folder


def _probes() -> np.ndarray:
    """Photos of the classes, noise and flat colours: some usual, some flagged."""
    usual, _ = _pictures(6, seed=3)
    noise = np.random.default_rng(4).uniform(0, 255, (4, fx.SIZE, fx.SIZE, 3)).astype(np.float32)
    flat = np.stack([np.full((fx.SIZE, fx.SIZE, 3), c, np.float32) for c in ((0, 255, 0), (128, 128, 128))])
    return np.concatenate([usual, noise, flat])


def _compare(folder: Path, variant: str) -> list[tuple[dict, dict]]:
    """Return (server verdict, browser verdict) for every probe, the browser's computed from anomaly.json alone."""
    from ml.browser_anomaly import browser_score, read_browser_detectors
    from ml.inference import Predictor
    from ml.runtime import open_session

    data = read_browser_detectors(folder)
    rule = data["variants"][variant]
    predictor = Predictor(folder, variant=variant)
    second = open_session(folder / rule["second_model"]) if "second_model" in rule else None
    pairs = []
    for pixels in _probes():
        outputs = predictor.run(pixels[None])
        server = predictor.anomaly(pixels, outputs["embedding"], outputs)
        second_embedding = None
        if second is not None:
            feed = pixels[None] if rule["second_input"] == "image" else outputs[rule["second_input"]]
            second_embedding = second.run(["embedding"], {rule["second_input"]: feed})[0]
        pairs.append((server, browser_score(data, variant, outputs["embedding"], second_embedding)))
    return pairs


def _assert_same(pairs):
    for server, browser in pairs:
        assert browser["score"] == pytest.approx(server["score"], abs=1e-3, rel=1e-5)
        assert browser["threshold"] == pytest.approx(server["threshold"], rel=1e-9)
        assert browser["flagged"] == server["flagged"]
    flagged = [server["flagged"] for server, _ in pairs]
    assert any(flagged) and not all(flagged), "the probes should include usual and unusual photos"


@pytest.mark.parametrize("variant", ["fp32", "int8"])
def test_paired_with_a_reference_on_early_features(paired_folder, variant):
    """Each served file's rule is the server's: its own distance ratio plus the reference's, fed by its early features."""
    from ml.anomaly import load_detectors
    from ml.browser_anomaly import write_browser_detectors

    section = write_browser_detectors(paired_folder, load_detectors(paired_folder / "anomaly.npz"))
    assert section["variants"][variant] == {
        "rule": "sum_of_ratios", "model": "model.onnx" if variant == "fp32" else "model.int8.onnx",
        "second_model": "reference.onnx", "second_input": "early_features"}
    _assert_same(_compare(paired_folder, variant))


def test_paired_with_the_unpruned_file_on_the_image(paired_folder, tmp_path):
    """Without a reference the server pairs the served file with the unpruned one, fed the image: so does the browser."""
    from ml.anomaly import load_detectors, save_detectors
    from ml.browser_anomaly import write_browser_detectors

    folder = tmp_path / "unpruned"
    shutil.copytree(paired_folder, folder)
    (folder / "reference.onnx").unlink()
    detectors = {v: d for v, d in load_detectors(folder / "anomaly.npz").items() if not v.startswith("reference")}
    save_detectors(folder / "anomaly.npz", detectors)
    section = write_browser_detectors(folder, detectors)
    assert section["variants"]["fp32"]["second_model"] == "model.unpruned.onnx"
    assert section["variants"]["fp32"]["second_input"] == "image"
    _assert_same(_compare(folder, "fp32"))


def test_one_detector_for_both_files_is_stored_once(paired_folder, tmp_path):
    """The quick model's int8 file shares the fp32 detector: both rules are the plain distance, one copy of the arrays."""
    from ml.anomaly import load_detectors, save_detectors
    from ml.browser_anomaly import write_browser_detectors

    folder = tmp_path / "single"
    shutil.copytree(paired_folder, folder)
    for name in ("reference.onnx", "model.unpruned.onnx"):
        (folder / name).unlink()
    detector = load_detectors(folder / "anomaly.npz")["fp32"]
    save_detectors(folder / "anomaly.npz", {"fp32": detector, "int8": detector})
    section = write_browser_detectors(folder, {"fp32": detector, "int8": detector})
    assert {v: r["rule"] for v, r in section["variants"].items()} == {"fp32": "distance", "int8": "distance"}
    data = json.loads((folder / "anomaly.json").read_text())
    assert list(data["detectors"]) == ["fp32"] and data["variants"]["int8"]["own"] == "fp32"
    _assert_same(_compare(folder, "fp32"))
    _assert_same(_compare(folder, "int8"))


@pytest.mark.parametrize("per_class", [True, False])
def test_packed_precision_gives_the_detectors_distance(per_class, tmp_path):
    """The upper triangle, stored as float32, gives the server's distance with one covariance per class or one shared."""
    from ml.anomaly import fit_detector
    from ml.browser_anomaly import browser_distance, detector_entry, read_browser_detectors

    rng = np.random.default_rng(1)
    rows = 90 if per_class else 8  # per-class covariances need at least as many photos per class as dimensions
    x = np.abs(rng.normal(size=(2 * rows, 12))) * np.linspace(0.5, 3, 12)
    detector = fit_detector(x, np.arange(2 * rows) % 2)
    assert (detector.precision.ndim == 3) == per_class
    path = tmp_path / "anomaly.json"
    path.write_text(json.dumps({"detectors": {"fp32": detector_entry(detector)}, "variants": {}}))
    entry = read_browser_detectors(path)["detectors"]["fp32"]
    probes = np.abs(rng.normal(size=(6, 12))) * 4
    expected = detector.score(probes)
    got = [browser_distance(entry, probe) for probe in probes]
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_a_folder_without_detectors_gets_no_file(tmp_path):
    """No detector for any served file: nothing is written and the card gets no section."""
    from ml.browser_anomaly import write_browser_detectors

    fx.write_model_folder(tmp_path, CLASSES)
    assert write_browser_detectors(tmp_path, {}) is None
    assert not (tmp_path / "anomaly.json").exists()
