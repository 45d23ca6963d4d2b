"""Look inside exported ONNX files: weight histograms, sparsity, and the classifier kernel.

Int8 files store their weights as integers plus a scale per channel; they are turned
back into real numbers (DequantizeLinear's formula) so fp32 and int8 histograms share an axis.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


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
