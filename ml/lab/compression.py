"""Look inside exported ONNX files: weight histograms, sparsity, and the classifier kernel.

Int8 files store their weights as integers plus a scale per channel; they are turned
back into real numbers (DequantizeLinear's formula) so fp32 and int8 histograms share an axis.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ml import cam as cam_maps
from ml.runtime import HEAD_FILE, INPUT_NAME, INT8_MODEL_FILE, MODEL_FILE, UNPRUNED_MODEL_FILE, open_session
from ml.timing import time_calls

# The classifier files the lab compares, by the key its page uses.
VARIANT_FILES = (("fp32", MODEL_FILE), ("int8", INT8_MODEL_FILE), ("unpruned", UNPRUNED_MODEL_FILE))
LATENCY_REPEATS = 5  # a teaching page, not a benchmark: enough for a steady median on a shared worker
LATENCY_WARMUP = 1  # the first run allocates ONNX Runtime's buffers and is not what a user waits for
HEATMAP_OPACITY = 0.5


def _dequantized_initializers(model) -> dict[str, np.ndarray]:
    from onnx import numpy_helper

    init = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    weights = {}
    for node in model.graph.node:
        if node.op_type != "DequantizeLinear" or node.input[0] not in init:
            continue
        q = init[node.input[0]].astype(np.float64)
        scale = init.get(node.input[1])
        zero = init.get(node.input[2]) if len(node.input) > 2 else None
        if scale is None:
            continue
        axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
        shape = [1] * q.ndim
        if np.ndim(scale) == 1 and q.ndim > 0:
            shape[axis] = -1
        s = np.reshape(scale.astype(np.float64), shape) if np.ndim(scale) else float(scale)
        z = 0.0 if zero is None else (np.reshape(zero.astype(np.float64), shape) if np.ndim(zero) else float(zero))
        weights[node.input[0]] = (q - z) * s
    for name, value in init.items():
        if name not in weights and value.dtype in (np.float32, np.float64):
            weights[name] = value.astype(np.float64)
    return weights


def kernel_weights(path: str | Path, min_size: int = 16) -> dict[str, np.ndarray]:
    """Return the real-valued kernels (2-D or more, at least min_size values) of an ONNX file by name."""
    import onnx

    model = onnx.load(str(path))
    return {k: v for k, v in _dequantized_initializers(model).items() if v.ndim >= 2 and v.size >= min_size}


def weight_histogram(path: str | Path, bins: int = 41, limit: float | None = None) -> dict:
    """Return a histogram of every kernel weight, the fraction of exact zeros and the distinct-value count."""
    kernels = kernel_weights(path)
    values = np.concatenate([v.ravel() for v in kernels.values()]) if kernels else np.zeros(0)
    if values.size == 0:
        return {"bins": [], "counts": [], "zeros": None, "count": 0, "distinct": 0}
    if limit is None:
        limit = float(np.percentile(np.abs(values), 99.5)) or 1.0
    edges = np.linspace(-limit, limit, bins + 1)
    counts, _ = np.histogram(np.clip(values, -limit, limit), bins=edges)
    return {
        "bins": [float(round((a + b) / 2, 6)) for a, b in zip(edges[:-1], edges[1:], strict=True)],
        "counts": counts.astype(int).tolist(),
        "zeros": float(np.mean(values == 0.0)),
        "count": int(values.size),
        "distinct": int(np.unique(np.round(values, 9)).size),
        "limit": limit,
    }


def dense_kernel(path: str | Path, inputs: int, classes: int) -> np.ndarray | None:
    """Return the (inputs, classes) classifier kernel stored in an ONNX file, if exactly one matches."""
    matches = [v for v in kernel_weights(path, min_size=1).values() if v.shape == (inputs, classes)]
    return matches[0] if len(matches) == 1 else None


def present_variants(folder: str | Path) -> list[tuple[str, str]]:
    """Return (key, file name) of each compared classifier file the folder holds."""
    return [(key, name) for key, name in VARIANT_FILES if (Path(folder) / name).exists()]


def _prediction(path: Path, key: str, pixels: np.ndarray, classes: list, head) -> dict:
    """Run one classifier file on one photo: its answer, its latency and its class-activation overlay."""
    session = open_session(path)
    feed = {INPUT_NAME: np.asarray(pixels, np.float32)[None]}
    names = [o.name for o in session.get_outputs()]
    out = dict(zip(names, session.run(None, feed), strict=True))
    timing = time_calls(lambda _i: session.run(["probabilities"], feed), LATENCY_REPEATS, warmup=LATENCY_WARMUP)
    probabilities = out["probabilities"][0]
    top = int(np.argmax(probabilities))
    row = {"label": classes[top], "probability": float(probabilities[top]), "latency_ms": timing["p50"]}
    kernel, kernel_source = (head[0], HEAD_FILE) if head is not None else (None, None)
    if key == "unpruned" and head is not None:
        # The unpruned file carries its own classifier kernel: its map shows what pruning changed.
        own = dense_kernel(path, head[0].shape[0], head[0].shape[1])
        if own is not None:
            kernel, kernel_source = own, path.name
    if kernel is not None and "feature_maps" in out:
        cam = cam_maps.class_activation_map(out["feature_maps"][0], kernel, top)
        heat = cam_maps.upsample(cam_maps.normalize(cam), pixels.shape[0])
        row["heatmap"] = cam_maps.overlay(pixels, heat, opacity=HEATMAP_OPACITY)
        row["kernel_source"] = kernel_source
    return row


def compare_variants(
    folder: str | Path,
    pixels: np.ndarray | None,
    classes: list,
    progress: Callable[[float, str], None] | None = None,
) -> dict[str, dict]:
    """Return, per classifier file, its size and weight histogram and, given one photo, the file's answer.

    Every histogram shares the first file's axis. With ``pixels`` (raw 0..255, square) each row also holds
    the top label, its probability, the median latency in ms and ``heatmap``: the photo with the
    class-activation map blended over it (uint8 RGB).
    """
    folder = Path(folder)
    present = present_variants(folder)
    head = cam_maps.load_head(folder / HEAD_FILE) if (folder / HEAD_FILE).exists() else None
    variants = {}
    limit = None
    for i, (key, name) in enumerate(present):
        histogram = weight_histogram(folder / name, limit=limit)
        limit = histogram.get("limit", limit)  # same axis for every variant
        row = {"file": name, "bytes": (folder / name).stat().st_size, "histogram": histogram}
        if pixels is not None:
            row.update(_prediction(folder / name, key, pixels, classes, head))
        variants[key] = row
        if progress:
            progress((i + 1) / len(present), name)
    return variants
