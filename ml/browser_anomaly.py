"""The anomaly check as the browser computes it: ``anomaly.json`` beside the served files.

The browser (``static/js/browser_explain.js``, ONNX Runtime Web) runs ``model.onnx`` and gets its
``embedding`` output; with this file it computes the score ``ml.anomaly`` computes on the server
for the same photo, and flags it above the same threshold. For each served variant (``fp32``,
``int8``) the file holds the score rule the server follows (``ml.inference.Predictor.anomaly``):

- ``distance``: the served file's detector alone; the score is its Mahalanobis distance.
- ``sum_of_ratios``: the server pairs it with a second detector (``ml.anomaly.PairedDetector``),
  fed by a second ONNX file (``reference.onnx`` on the served file's ``early_features``, or
  ``model.unpruned.onnx`` on the image); the score is the sum of both distance / threshold ratios.

Each detector is stored once (the quick model's int8 file shares the fp32 detector) as float32,
little-endian, base64: the class means ``(classes, dim)`` and the upper triangle of each symmetric
precision matrix, row by row (``P[i, i:]``), half of the full matrix. The server computes the
distance in float32 too (``AnomalyDetector._float32``), so both agree to about six digits.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np

from ml.anomaly import METHOD, VARIANT_MODELS, AnomalyDetector, PairedDetector, can_feed, second_detector
from ml.runtime import ANOMALY_BROWSER_FILE, VARIANT_FILES, open_session

FORMAT = "riim-anomaly-browser/1"
RULE_DISTANCE = "distance"
RULE_SUM_OF_RATIOS = "sum_of_ratios"


def _encode(values: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(values, "<f4").tobytes()).decode("ascii")


def _decode(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), "<f4")


def _packed(precision: np.ndarray) -> np.ndarray:
    """Return each matrix's upper triangle, row by row, one matrix after the other."""
    matrices = precision if precision.ndim == 3 else precision[None]
    rows, cols = np.triu_indices(matrices.shape[-1])
    return np.concatenate([np.asarray(m, np.float32)[rows, cols] for m in matrices])


def detector_entry(detector: AnomalyDetector) -> dict:
    """Return one detector as the browser reads it."""
    classes, dim = detector.means.shape
    return {
        "transform": detector.transform,
        "threshold": float(detector.threshold),
        "classes": int(classes),
        "dim": int(dim),
        "precisions": int(detector.precision.shape[0]) if detector.precision.ndim == 3 else 1,
        "means": _encode(detector.means),
        "precision": _encode(_packed(detector.precision)),
    }


def _same(a: AnomalyDetector, b: AnomalyDetector) -> bool:
    return (a is b) or (a.transform == b.transform and a.threshold == b.threshold
                        and np.array_equal(a.means, b.means) and np.array_equal(a.precision, b.precision))


def _served_outputs(path: Path) -> list[str]:
    return [o.name for o in open_session(path).get_outputs()]


def _second_input(path: Path) -> str:
    return open_session(path).get_inputs()[0].name


def browser_rules(folder: str | Path, detectors: dict[str, AnomalyDetector]) -> dict:
    """Return, for each served variant with a file and a detector, how the server scores its photos.

    Each rule names its detectors by variant (``own``, ``second``); ``threshold`` is the one the
    score is compared with (the paired one for a sum of ratios).
    """
    folder = Path(folder)
    rules = {}
    for variant, model in VARIANT_FILES.items():
        if variant not in detectors or not (folder / model).is_file():
            continue
        own = detectors[variant]
        rule = {"rule": RULE_DISTANCE, "model": model, "own": variant, "threshold": float(own.threshold)}
        other = second_detector(folder, detectors, variant)
        if other is not None:
            second_input = _second_input(folder / VARIANT_MODELS[other])
            if can_feed(second_input, _served_outputs(folder / model)):
                paired = PairedDetector.calibrate(own, detectors[other])
                rule.update(rule=RULE_SUM_OF_RATIOS, second=other, second_model=VARIANT_MODELS[other],
                            second_input=second_input, threshold=float(paired.threshold))
        rules[variant] = rule
    return rules


def write_browser_detectors(folder: str | Path, detectors: dict[str, AnomalyDetector]) -> dict | None:
    """Write ``anomaly.json`` for the served files of ``folder``; return the card's ``anomaly.browser`` section.

    None (and no file) when no served file has a detector.
    """
    folder = Path(folder)
    rules = browser_rules(folder, detectors)
    if not rules:
        return None
    stored: dict[str, str] = {}  # detector variant -> the name its arrays are stored under
    entries: dict[str, dict] = {}
    for rule in rules.values():
        for key in ("own", "second"):
            name = rule.get(key)
            if name is None or name in stored:
                continue
            twin = next((kept for kept in entries if _same(detectors[kept], detectors[name])), None)
            stored[name] = twin or name
            if twin is None:
                entries[name] = detector_entry(detectors[name])
        for key in ("own", "second"):
            if key in rule:
                rule[key] = stored[rule[key]]
    path = folder / ANOMALY_BROWSER_FILE
    path.write_text(json.dumps({"format": FORMAT, "method": METHOD, "variants": rules, "detectors": entries},
                               separators=(",", ":")))
    summary = {variant: {k: v for k, v in rule.items() if k in ("rule", "model", "second_model", "second_input")}
               for variant, rule in rules.items()}
    return {"file": ANOMALY_BROWSER_FILE, "format": FORMAT, "bytes": path.stat().st_size, "variants": summary}


def read_browser_detectors(path: str | Path) -> dict:
    """Read ``anomaly.json`` (a folder or the file) with its arrays decoded: what the browser holds after loading it."""
    path = Path(path)
    data = json.loads((path / ANOMALY_BROWSER_FILE if path.is_dir() else path).read_text())
    for entry in data["detectors"].values():
        size = entry["dim"] * (entry["dim"] + 1) // 2
        entry["means"] = _decode(entry["means"]).reshape(entry["classes"], entry["dim"])
        entry["precision"] = _decode(entry["precision"]).reshape(entry["precisions"], size)
    return data


def browser_distance(entry: dict, embedding: np.ndarray) -> float:
    """The distance the browser computes from one embedding (the numpy twin of browser_explain.js)."""
    x = np.asarray(embedding, np.float64).reshape(-1)
    if entry["transform"] == "sqrt":
        x = np.sqrt(np.maximum(x, 0.0))
    rows, cols = np.triu_indices(entry["dim"])
    best = np.inf
    for index, mean in enumerate(entry["means"].astype(np.float64)):
        packed = entry["precision"][index if entry["precisions"] > 1 else 0].astype(np.float64)
        d = x - mean
        # Diagonal once, each off-diagonal pair twice: d·P·d from the upper triangle alone.
        terms = packed * d[rows] * d[cols]
        best = min(best, float(2 * terms.sum() - terms[rows == cols].sum()))
    return float(np.sqrt(max(best, 0.0)))


def browser_score(data: dict, variant: str, embedding: np.ndarray, second_embedding: np.ndarray | None = None) -> dict:
    """Return the browser's verdict for one photo: score, threshold, flagged (as ``Predictor.anomaly`` gives them)."""
    rule = data["variants"][variant]
    own = browser_distance(data["detectors"][rule["own"]], embedding)
    if rule["rule"] == RULE_DISTANCE:
        score = own
    else:
        second = data["detectors"][rule["second"]]
        score = own / data["detectors"][rule["own"]]["threshold"] + browser_distance(second, second_embedding) / second["threshold"]
    return {"score": score, "threshold": rule["threshold"], "flagged": score > rule["threshold"]}
