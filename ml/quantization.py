"""Quantize the served model: ONNX int8 (static QDQ) and the TFLite variants.

ONNX int8: onnxruntime.quantization with static QDQ, per-channel int8 weights and
uint8 activations (the pairing x86 CPUs run fastest), calibrated on training
images. The softmax stays in float so the probabilities keep full precision.

TFLite: dynamic-range (int8 weights, float activations), float16 weights, and
full-integer int8 (calibrated with a representative dataset of training images;
the input and output stay float32 so every variant is fed the same pixels).
TensorFlow is imported only by the TFLite converters.
"""

from __future__ import annotations

import gzip
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ml.config import OPTIONS_BY_NAME
from ml.runtime import INPUT_NAME

TFLITE_MODES = ("fp32", "dynamic", "float16", "int8")
QUANTIZE_CHOICES = OPTIONS_BY_NAME["quantize"].choices  # the variants a training config may ask for
CALIBRATION_BATCH = 8  # images per calibration step; the statistics do not depend on it
WEIGHT_OPS = {"Conv": "conv", "ConvTranspose": "conv", "Gemm": "dense", "MatMul": "dense"}


def _calibration_reader(images: np.ndarray):
    """Return a reader that feeds calibration images to onnxruntime's quantizer in small batches."""
    from onnxruntime.quantization import CalibrationDataReader

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter(
                [
                    {INPUT_NAME: images[i : i + CALIBRATION_BATCH].astype(np.float32)}
                    for i in range(0, len(images), CALIBRATION_BATCH)
                ]
            )

        def get_next(self) -> dict | None:
            return next(self.batches, None)

    return Reader()


def quantize_onnx_int8(src: str | Path, dst: str | Path, calibration_images: np.ndarray) -> Path:
    """Write a static QDQ int8 copy of an ONNX model calibrated on the given images."""
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    reader = _calibration_reader(np.asarray(calibration_images))
    softmax_nodes = [n.name for n in onnx.load(str(src)).graph.node if n.op_type == "Softmax"]
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        # Symbolic shape inference needs sympy; the exported graph has static shapes
        # apart from the batch, so ONNX's own inference is enough.
        quant_pre_process(str(src), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared),
            str(dst),
            reader,
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            nodes_to_exclude=softmax_nodes,
        )
    return Path(dst)


def count_quantized_weights(path: str | Path) -> dict:
    """Count the conv and dense layers of an ONNX model whose weights are stored as int8."""
    import onnx
    from onnx import TensorProto

    graph = onnx.load(str(path)).graph
    initializers = {i.name: i for i in graph.initializer}
    producers = {out: node for node in graph.node for out in node.output}
    counts = {"conv": 0, "conv_total": 0, "dense": 0, "dense_total": 0, "int8_parameters": 0, "float_parameters": 0}
    for node in graph.node:
        kind = WEIGHT_OPS.get(node.op_type)
        if kind is None or len(node.input) < 2:
            continue
        weight = node.input[1]
        source = producers.get(weight)
        if source is not None and source.op_type == "DequantizeLinear" and source.input[0] in initializers:
            stored = initializers[source.input[0]]
            if stored.data_type in (TensorProto.INT8, TensorProto.UINT8):
                counts[kind] += 1
                counts[f"{kind}_total"] += 1
                counts["int8_parameters"] += int(np.prod(stored.dims))
                continue
        if weight in initializers or source is not None:
            counts[f"{kind}_total"] += 1
            if weight in initializers:
                counts["float_parameters"] += int(np.prod(initializers[weight].dims))
    return counts


def _representative(images: np.ndarray) -> Iterator[list[np.ndarray]]:
    for image in images:
        yield [image[None].astype(np.float32)]


def save_for_tflite(model, folder: str | Path) -> Path:
    """Save a Keras model's inference function and weights alone as the SavedModel the TFLite converter reads.

    ``TFLiteConverter.from_keras_model`` first writes a whole Keras SavedModel, tracing every layer,
    on each call: about 7 s for MobileNet 0.25 at 224 px. The bare function saves in 0.5 s and each
    variant then converts in about 1 s, to the same bytes.
    """
    from ml.backend import tf

    spec = [tf.TensorSpec([None, *model.input_shape[1:]], tf.float32, name=INPUT_NAME)]

    def serve(image):
        outputs = model(image, training=False)
        if isinstance(outputs, dict):
            return outputs
        # The signature's outputs keep the model's output names, as the Keras converter's do.
        return dict(zip(model.output_names, outputs if isinstance(outputs, (list, tuple)) else [outputs], strict=True))

    module = tf.Module()
    module.weights = list(model.variables)
    module.serve = tf.function(serve, input_signature=spec)
    tf.saved_model.save(module, str(folder), signatures={"serving_default": module.serve})
    return Path(folder)


def to_tflite(source, path: str | Path, mode: str = "fp32", representative_images: np.ndarray | None = None) -> Path:
    """Convert to TFLite: ``fp32``, ``dynamic``, ``float16`` or full-integer ``int8``.

    ``source`` is a Keras model or, to convert several variants of one model, the folder
    ``save_for_tflite`` wrote for it.
    """
    from ml.backend import tf

    if mode not in TFLITE_MODES:
        raise ValueError(f"unknown TFLite mode {mode!r}; expected one of {TFLITE_MODES}")
    if not isinstance(source, (str, Path)):
        with tempfile.TemporaryDirectory() as folder:
            return to_tflite(save_for_tflite(source, folder), path, mode, representative_images)
    converter = tf.lite.TFLiteConverter.from_saved_model(str(source))
    if mode != "fp32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if mode == "int8":
        if representative_images is None or len(representative_images) == 0:
            raise ValueError("full-integer int8 needs representative images")
        images = np.asarray(representative_images)
        converter.representative_dataset = lambda: _representative(images)
        # Every op in int8; the float input/output are converted at the model's edges.
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    path = Path(path)
    path.write_bytes(converter.convert())
    return path


def tflite_tensor_types(path: str | Path) -> dict[str, int]:
    """Count the tensors of a TFLite file by data type (shows what quantization stored)."""
    from ai_edge_litert.interpreter import Interpreter

    counts: dict[str, int] = {}
    for detail in Interpreter(model_path=str(path)).get_tensor_details():
        name = np.dtype(detail["dtype"]).name
        counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items()))


def gzip_size(path: str | Path) -> int:
    """Return the gzip-compressed size of a file in bytes (zeros from pruning compress away)."""
    with open(path, "rb") as src, tempfile.TemporaryFile() as tmp:
        with gzip.GzipFile(fileobj=tmp, mode="wb", compresslevel=9, mtime=0) as packed:
            shutil.copyfileobj(src, packed)
        return tmp.tell()
