"""Check that exported models compute what the Keras model computes.

The reference outputs come from the trained Keras model (the caller runs it); this
module runs the ONNX and TFLite files on the same preprocessed batch and reports the
largest absolute difference of each output and how often the top-1 class agrees.
Runs without TensorFlow (ONNX Runtime and LiteRT only).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ml.runtime import INPUT_NAME, open_session
from ml.timing import time_calls

COMPARED = ("probabilities", "logits", "embedding")
LATENCY_REPEATS = 30


def run_onnx(
    path: str | Path, images: np.ndarray, batch_size: int = 32, outputs: tuple[str, ...] | None = None
) -> dict:
    """Run an ONNX model on a batch of images and return its outputs by name."""
    session = open_session(path)
    names = [o.name for o in session.get_outputs() if outputs is None or o.name in outputs]
    parts = [session.run(names, {INPUT_NAME: images[i : i + batch_size]}) for i in range(0, len(images), batch_size)]
    return {name: np.concatenate([p[j] for p in parts]) for j, name in enumerate(names)}


def tflite_runner(path: str | Path, threads: int = 1):
    """Return the LiteRT signature runner of a ``.tflite`` file (``tf.lite.Interpreter`` is deprecated)."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), num_threads=threads)
    return interpreter.get_signature_runner()


def run_tflite(path: str | Path, images: np.ndarray, outputs: tuple[str, ...] | None = None) -> dict:
    """Run a TFLite model one image at a time (its batch dimension is fixed at 1)."""
    runner = tflite_runner(path)
    results: dict[str, list] = {}
    for image in images:
        out = runner(**{INPUT_NAME: image[None].astype(np.float32)})
        for name, value in out.items():
            if outputs is None or name in outputs:
                results.setdefault(name, []).append(np.asarray(value, np.float32))
    return {name: np.concatenate(values) for name, values in results.items()}


def compare(reference: dict, candidate: dict, names: tuple[str, ...] = COMPARED) -> dict:
    """Return the max abs difference per output and the top-1 agreement of two output sets."""
    report: dict = {"max_abs": {}}
    for name in names:
        if name in reference and name in candidate:
            diff = np.abs(np.asarray(reference[name], np.float64) - np.asarray(candidate[name], np.float64))
            report["max_abs"][name] = float(diff.max())
    top_ref = np.argmax(reference["probabilities"], axis=-1)
    top_new = np.argmax(candidate["probabilities"], axis=-1)
    report["top1_agreement"] = float((top_ref == top_new).mean())
    report["images"] = int(len(top_ref))
    return report


def onnx_latency_ms(path: str | Path, image: np.ndarray, repeats: int = LATENCY_REPEATS, threads: int = 1) -> dict:
    """Time single-image ONNX Runtime calls with pinned threads (p50/p95 in milliseconds)."""
    session = open_session(path, intra_op_threads=threads, inter_op_threads=1)
    feed = {INPUT_NAME: image[None].astype(np.float32)}
    return {**time_calls(lambda _: session.run(None, feed), repeats), "threads": threads}


def tflite_latency_ms(path: str | Path, image: np.ndarray, repeats: int = LATENCY_REPEATS, threads: int = 1) -> dict:
    """Time single-image LiteRT calls (p50/p95 in milliseconds)."""
    runner = tflite_runner(path, threads=threads)
    feed = {INPUT_NAME: image[None].astype(np.float32)}
    return {**time_calls(lambda _: runner(**feed), repeats), "threads": threads}
