"""The command line, end to end, and its clean failures."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ml.__main__ import build_parser, main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cli_run(shapes_dir, tmp_path_factory):
    """Run ``python -m ml train`` once in a subprocess; a missing weights name falls back to scratch."""
    out = tmp_path_factory.mktemp("cli")
    weights = tmp_path_factory.mktemp("weights")
    env = {**os.environ, "RIIM_WEIGHTS_DIR": str(weights), "TF_CPP_MIN_LOG_LEVEL": "3"}
    cmd = [sys.executable, "-m", "ml", "train", "--data", str(shapes_dir), "--out", str(out),
           "--backbone", "mobilenet", "--weights", "absent.h5", "--image-size", "32", "--epochs", "4",
           "--augment", "none", "--folds", "2", "--seed", "1"]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    return proc, out


def test_cli_train_writes_outputs_and_prints_json_summary_last(cli_run):
    """train writes model, card, history and plot and ends stdout with a one-line JSON summary."""
    proc, out = cli_run
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["backbone"] == "scratch" and summary["fallback"] is True
    assert summary["n"] == 12
    assert "Falling back to the scratch CNN" in proc.stderr and "%" in proc.stderr
    for name in ("model.keras", "card.json", "history.json", "history.png"):
        assert (out / name).is_file()
    card = json.loads((out / "card.json").read_text())
    assert card["backbone"]["fallback"] and card["backbone"]["requested"] == "mobilenet"


def test_cli_evaluate_reports_accuracy_ci_and_latency(cli_run, shapes_dir, capsys):
    """evaluate prints accuracy, n, ci95, per_class, confusion_matrix and latency percentiles."""
    _, out = cli_run
    assert main(["evaluate", "--model", str(out / "model.keras"), "--data", str(shapes_dir)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 72 and result["accuracy"] > 0.5
    assert set(result["per_class"]) == {"circle", "square", "triangle"}
    assert len(result["confusion_matrix"]) == 3
    assert 0 < result["latency_ms"]["p50"] <= result["latency_ms"]["p95"]


def test_cli_predict_returns_one_result_per_image(cli_run, shapes_dir, tmp_path, capsys):
    """predict gives a label and probabilities per image and an error entry for an unreadable file."""
    _, out = cli_run
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"nope")
    images = [str(next((shapes_dir / c).glob("*.png"))) for c in ("circle", "square")] + [str(bad)]
    assert main(["predict", "--model", str(out / "model.keras"), *images]) == 0
    results = json.loads(capsys.readouterr().out)
    assert [r.get("label") is not None for r in results] == [True, True, False]
    assert "Cannot read image" in results[2]["error"]
    assert abs(sum(t["probability"] for t in results[0]["top_k"]) - 1) < 1e-4


@pytest.mark.parametrize("argv, message", [
    (["train", "--data", "/nonexistent/dir", "--out", "OUT"], "Data source not found"),
    (["train", "--data", "DATA", "--out", "OUT", "--backbone", "resnet"], "invalid choice"),
    (["train", "--data", "DATA", "--out", "OUT", "--dropout", "2"], "dropout must be"),
    (["train", "--data", "DATA", "--out", "OUT", "--weights", "../../etc/passwd"], "inside RIIM_WEIGHTS_DIR"),
    (["evaluate", "--model", "/nonexistent/model.keras", "--data", "DATA"], "Model file not found"),
    (["predict"], "required"),
])
def test_cli_fails_cleanly_with_one_line(argv, message, shapes_dir, tmp_path, capsys, monkeypatch):
    """Bad arguments, missing data and weights outside the directory: one line on stderr, non-zero exit."""
    monkeypatch.setenv("RIIM_WEIGHTS_DIR", str(tmp_path))
    argv = [str(shapes_dir) if a == "DATA" else str(tmp_path / "out") if a == "OUT" else a for a in argv]
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "out" / "card.json").exists()


def test_cli_subprocess_error_has_no_traceback(tmp_path):
    """A real process given unreadable data exits non-zero with one error line."""
    empty = tmp_path / "empty"
    (empty / "a").mkdir(parents=True)
    (empty / "a" / "x.jpg").write_bytes(b"broken")
    proc = subprocess.run([sys.executable, "-m", "ml", "train", "--data", str(empty), "--out", str(tmp_path / "o"),
                           "--quiet", "--backbone", "scratch"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith("error: No readable images")
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_cli_weights_dir_flag_defaults_to_the_environment(tmp_path, monkeypatch):
    """--weights-dir names the trusted weights folder; RIIM_WEIGHTS_DIR is only its default."""
    monkeypatch.setenv("RIIM_WEIGHTS_DIR", str(tmp_path / "from-env"))
    assert build_parser().parse_args(["train", "--data", "d", "--out", "o"]).weights_dir == str(tmp_path / "from-env")
    given = build_parser().parse_args(["train", "--data", "d", "--out", "o", "--weights-dir", str(tmp_path)])
    assert given.weights_dir == str(tmp_path)
