"""A tiny but real model version folder, written with onnx.helper (no TensorFlow, builds in milliseconds).

The classifier reads colour: feature maps are a fixed linear map of each pixel's RGB,
the embedding is their spatial mean and the head decides red versus blue. It has an
int8 twin (weights stored as integers, QDQ), an unpruned twin and a mean-colour
autoencoder, with the same file names the training pipeline writes.
"""

import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SIZE = 32
AE_SIZE = 16
CHANNELS = 16
# Colour-to-class evidence: red votes for the first class, blue for the second; green is pruned to zero.
CLASS_EVIDENCE = np.array([[8.0, -8.0], [0.0, 0.0], [-8.0, 8.0]])


def _projection():
    return np.random.default_rng(42).normal(size=(3, CHANNELS))


def _classifier(path: Path, kernel: np.ndarray, quantized: bool = False) -> None:
    projection = _projection()
    nodes = [
        helper.make_node("Mul", ["image", "inv255"], ["x01"]),
        helper.make_node("MatMul", ["x01", "projection"], ["feature_maps"]),
        helper.make_node("ReduceMean", ["feature_maps"], ["embedding"], axes=[1, 2], keepdims=0),
    ]
    inits = [
        numpy_helper.from_array(np.array(1 / 255, np.float32), "inv255"),
        numpy_helper.from_array(projection.astype(np.float32), "projection"),
        numpy_helper.from_array(np.zeros(kernel.shape[1], np.float32), "bias"),
    ]
    if quantized:
        scale = (np.abs(kernel).max(axis=0) / 127).astype(np.float32) + 1e-8
        q = np.round(kernel / scale).astype(np.int8)
        inits += [
            numpy_helper.from_array(q, "kernel_q"),
            numpy_helper.from_array(scale, "kernel_scale"),
            numpy_helper.from_array(np.zeros(kernel.shape[1], np.int8), "kernel_zero"),
        ]
        nodes.append(
            helper.make_node("DequantizeLinear", ["kernel_q", "kernel_scale", "kernel_zero"], ["kernel"], axis=1)
        )
    else:
        inits.append(numpy_helper.from_array(kernel.astype(np.float32), "kernel"))
    nodes += [
        helper.make_node("MatMul", ["embedding", "kernel"], ["raw_logits"]),
        helper.make_node("Add", ["raw_logits", "bias"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", SIZE, SIZE, 3])],
        [
            helper.make_tensor_value_info(name, TensorProto.FLOAT, None)
            for name in ("probabilities", "logits", "embedding", "feature_maps")
        ],
        inits,
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))


def _autoencoder(path: Path) -> None:
    """Reconstruct every photo as its mean colour: a (very) small bottleneck of three numbers."""
    nodes = [
        helper.make_node("ReduceMean", ["image"], ["mean"], axes=[1, 2], keepdims=1),
        helper.make_node("Mul", ["image", "zero"], ["blank"]),
        helper.make_node("Add", ["blank", "mean"], ["reconstruction"]),
        helper.make_node("Sub", ["image", "reconstruction"], ["diff"]),
        helper.make_node("Mul", ["diff", "inv255"], ["scaled"]),
        helper.make_node("Mul", ["scaled", "scaled"], ["squared"]),
        helper.make_node("ReduceMean", ["squared"], ["error_map"], axes=[3], keepdims=0),
    ]
    inits = [
        numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
        numpy_helper.from_array(np.array(1 / 255, np.float32), "inv255"),
    ]
    graph = helper.make_graph(
        nodes,
        "autoencoder",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", AE_SIZE, AE_SIZE, 3])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("reconstruction", "error_map")],
        inits,
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))


def write_model_folder(folder: Path, classes) -> dict:
    """Write the folder and return its card."""
    from ml import cam

    folder.mkdir(parents=True, exist_ok=True)
    kernel = np.linalg.pinv(_projection()) @ CLASS_EVIDENCE
    unpruned = np.linalg.pinv(_projection()) @ (CLASS_EVIDENCE + np.array([[0.0, 0.0], [0.6, -0.4], [0.0, 0.0]]))
    _classifier(folder / "model.onnx", kernel)
    _classifier(folder / "model.int8.onnx", kernel, quantized=True)
    _classifier(folder / "model.unpruned.onnx", unpruned)
    _autoencoder(folder / "autoencoder.onnx")
    cam.save_head(folder / cam.HEAD_FILE, kernel.astype(np.float32), np.zeros(len(classes), np.float32))
    card = {"classes": list(classes), "input": {"size": [SIZE, SIZE], "channels": 3}}
    (folder / "card.json").write_text(json.dumps(card))
    return card
