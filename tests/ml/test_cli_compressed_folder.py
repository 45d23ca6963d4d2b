"""End to end: `python -m ml train --prune --quantize`, then validate, evaluate, predict and serve the folder."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.fixtures import models as fx

EXPECTED_FILES = (
    "card.json", "model.keras", "model.onnx", "model.int8.onnx", "model.unpruned.onnx", "activations.onnx",
    "autoencoder.onnx", "anomaly.npz", "head.npz", "model.tflite", "model.dynamic.tflite", "model.float16.tflite",
    "model.int8.tflite",
)  # fmt: skip


def _write_folder(root: Path, per_class: int, seed: int) -> Path:
    x, y, _ = fx.shapes(per_class, seed)
    for image, label in zip(x, y, strict=True):
        folder = root / fx.CLASSES[label]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image.astype("uint8")).save(folder / f"{len(list(folder.iterdir())):03d}.png")
    return root


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    """Train through the CLI once: scratch CNN on 32 px shapes, pruned to 50 %, int8 and float16 variants."""
    from ml.__main__ import main

    data = _write_folder(tmp_path_factory.mktemp("cli_data"), per_class=30, seed=3)
    out = tmp_path_factory.mktemp("cli_run") / "model"
    argv = [
        "train", "--data", str(data), "--out", str(out), "--backbone", "scratch", "--image-size", "32",
        "--epochs", "6", "--fine-tune-epochs", "0", "--folds", "2", "--augment", "none", "--batch-size", "16",
        "--learning-rate", "0.003", "--prune", "0.5", "--quantize", "int8,float16", "--seed", "1", "--quiet",
    ]  # fmt: skip
    assert main(argv) == 0
    return data, out


def test_cli_writes_every_served_file(cli_run):
    """train --prune 0.5 --quantize int8,float16 writes the ONNX, TFLite, detector, autoencoder and head files."""
    _, out = cli_run
    missing = [name for name in EXPECTED_FILES if not (out / name).is_file()]
    assert missing == []


def test_cli_card_reports_compression_and_detector_sections(cli_run):
    """The card validates and reports measured sparsity, fp32 parity, int8 weights and per-stage timings."""
    from ml.card import read_card, validate_card

    _, out = cli_run
    card = read_card(out / "card.json")
    validate_card(card)
    assert abs(card["pruning"]["total_sparsity"] - 0.5) <= 0.02
    assert card["parity"]["fp32"]["onnx_fp32"]["max_abs"]["probabilities"] <= 1e-4
    assert card["quantization"]["onnx_int8"]["weights"]["conv"] >= 1
    assert card["serving"]["input"] == {"name": "image", "size": 32, "channels": 3, "range": [0, 255], "layout": "NHWC"}
    for stage in ("kfold", "train", "prune", "export", "quantize", "parity", "anomaly", "autoencoder"):
        assert card["timings"]["stages"][stage] > 0
    assert set(card["files"].values()) >= set(EXPECTED_FILES) - {"card.json"}


def test_validate_accepts_the_trained_folder(cli_run, capsys):
    """`python -m ml validate DIR` exits 0 on a folder written by train."""
    from ml.__main__ import main

    assert main(["validate", str(cli_run[1])]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["valid"] is True


def test_validate_rejects_a_broken_folder(cli_run, tmp_path, capsys):
    """A folder with a missing head, a truncated int8 model and a card with a wrong class list is rejected, each named."""
    from ml.__main__ import main

    broken = tmp_path / "broken"
    shutil.copytree(cli_run[1], broken)
    (broken / "head.npz").unlink()
    data = (broken / "model.int8.onnx").read_bytes()
    (broken / "model.int8.onnx").write_bytes(data[: len(data) // 3])
    card = json.loads((broken / "card.json").read_text())
    card["classes"] = card["classes"][:2]
    (broken / "card.json").write_text(json.dumps(card))
    assert main(["validate", str(broken)]) == 1
    problems = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["problems"]
    assert any("head.npz" in p for p in problems)
    assert any("model.int8.onnx" in p for p in problems)
    assert any("probabilities for 2 classes" in p for p in problems)


def test_validate_rejects_wrong_onnx_output_names(cli_run, tmp_path):
    """An ONNX model whose outputs are not the contract's names fails validation."""
    import onnx

    from ml.validate import validate_folder

    broken = tmp_path / "renamed"
    shutil.copytree(cli_run[1], broken)
    model = onnx.load(str(broken / "model.onnx"))
    for node in model.graph.node:
        node.output[:] = ["scores" if name == "probabilities" else name for name in node.output]
    for output in model.graph.output:
        if output.name == "probabilities":
            output.name = "scores"
    onnx.save(model, str(broken / "model.onnx"))
    assert any("lacks output(s) ['probabilities']" in p for p in validate_folder(broken))


@pytest.mark.parametrize("model_file", ["model.onnx", "model.int8.onnx", "model.tflite", "model.int8.tflite"])
def test_evaluate_and_predict_exported_models(cli_run, model_file, capsys):
    """evaluate and predict work on .onnx and .tflite files and agree with the card's classes."""
    from ml.__main__ import main

    data, out = cli_run
    assert main(["evaluate", "--model", str(out / model_file), "--data", str(data)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 90 and report["accuracy"] >= 0.6 and report["latency_ms"]["p50"] > 0
    image = next((data / "square").iterdir())
    assert main(["predict", "--model", str(out / model_file), str(image)]) == 0
    (result,) = json.loads(capsys.readouterr().out)
    assert result["label"] in fx.CLASSES and len(result["top_k"]) == 3


def test_cli_predict_and_the_server_analysis_agree(cli_run, capsys):
    """python -m ml predict on model.onnx ranks the classes exactly as the server's analysis of the same photo."""
    from ml.__main__ import main
    from ml.analysis import analyse
    from ml.inference import Predictor

    data, out = cli_run
    image = next((data / "triangle").iterdir())
    assert main(["predict", "--model", str(out / "model.onnx"), str(image)]) == 0
    (cli,) = json.loads(capsys.readouterr().out)
    predictor = Predictor(out)
    served = analyse(predictor, predictor.load(image))
    assert cli["label"] == served.label
    assert [row["label"] for row in cli["top_k"]] == [row["label"] for row in served.ranking(3)]
    assert cli["probability"] == pytest.approx(float(served.probabilities[served.top]), abs=1e-6)


SERVING_SCRIPT = """
import json, sys
import numpy as np
from ml.analysis import analyse
from ml.inference import Predictor
predictor = Predictor(sys.argv[1], variant=sys.argv[3])
with open(sys.argv[2], "rb") as handle:
    pixels = predictor.load(handle)
result = analyse(predictor, pixels)
print(json.dumps({
    "tensorflow": any(name.split(".")[0] in ("tensorflow", "tf_keras", "keras") for name in sys.modules),
    "variant": predictor.variant,
    "top": result.label,
    "cam": list(result.cam.shape),
    "anomaly": sorted(result.anomaly),
    "error_map": list(predictor.error_map(pixels).shape),
    "activations": len(predictor.activations(pixels)),
    "sum": float(np.sum(result.probabilities)),
}))
"""


@pytest.mark.parametrize("variant", ["fp32", "int8"])
def test_serving_path_never_imports_tensorflow(cli_run, variant):
    """The analysis (probabilities, CAM, anomaly score), error map and activations come without importing TensorFlow."""
    data, out = cli_run
    image = next((data / "circle").iterdir())
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", SERVING_SCRIPT, str(out), str(image), variant],
        capture_output=True, text=True, cwd=root, timeout=120, check=True,
    )  # fmt: skip
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["tensorflow"] is False and result["variant"] == variant
    assert result["cam"] == [32, 32] and result["error_map"] == [32, 32]
    assert result["anomaly"] == ["flagged", "parts", "score", "threshold"]
    assert result["activations"] >= 3 and abs(result["sum"] - 1) < 1e-3


def test_imagenet_tags_reach_the_predictor(cli_run, tmp_path):
    """With an ImageNet head and index written beside the model, the analysis returns translated top-k labels."""
    import numpy as np

    from ml.analysis import analyse
    from ml.inference import Predictor
    from ml.tags import write_imagenet_tags

    data, out = cli_run
    folder = tmp_path / "with_imagenet"
    shutil.copytree(out, folder)
    dim = Predictor(folder).run(np.zeros((1, 32, 32, 3), np.float32), outputs=("embedding",))["embedding"].shape[1]
    (tmp_path / "index.json").write_text(
        json.dumps({"0": ["n01", "tabby"], "1": ["n02", "teapot"], "2": ["n03", "kite"]})
    )
    (tmp_path / "es.json").write_text(json.dumps({"n02": "tetera"}))
    kernel = np.zeros((dim, 3), np.float32)
    section = write_imagenet_tags(
        folder, kernel, np.array([0.0, 3.0, 1.0]), tmp_path / "index.json", tmp_path / "es.json", k=2
    )
    assert section["enabled"] and section["language"] == "es"
    image = next((data / "square").iterdir())
    predictor = Predictor(folder)
    result = analyse(predictor, predictor.load(image))
    assert [t["label"] for t in result.imagenet] == ["tetera", "kite"]
    plain = Predictor(out)
    assert analyse(plain, plain.load(image)).imagenet == ()


def test_pruned_folder_scores_novelty_with_both_embeddings(cli_run):
    """Without a reference backbone (a scratch model), a pruned folder pairs the served and unpruned detectors:
    the score is the sum of both distance/threshold ratios, the threshold calibrated on the training sums."""
    from ml.analysis import analyse
    from ml.anomaly import PairedDetector, load_detectors
    from ml.inference import Predictor
    from ml.parity import run_onnx

    data, out = cli_run
    image = next((data / "triangle").iterdir())
    predictor = Predictor(out)
    pixels = predictor.load(image)
    detectors = load_detectors(out / "anomaly.npz")
    assert "reference" not in detectors
    ratios = [
        detectors[variant].score(run_onnx(out / name, pixels[None], outputs=("embedding",))["embedding"])[0]
        / detectors[variant].threshold
        for variant, name in (("fp32", "model.onnx"), ("unpruned", "model.unpruned.onnx"))
    ]
    anomaly = analyse(predictor, pixels).anomaly
    assert abs(anomaly["score"] - sum(ratios)) < 1e-6
    assert anomaly["threshold"] == PairedDetector.calibrate(detectors["fp32"], detectors["unpruned"]).threshold
    assert 1.0 < anomaly["threshold"] < 2.0
