"""The TensorFlow.js export: a layers model that Teachable Machine's image library loads as it is.

``@teachablemachine/image`` 0.8.x runs on TF.js 1.3.1 (its peer dependency) and does its own
preprocessing: the centre square of the picture, resized to ``metadata.imageSize`` on a canvas,
pixels divided by 127 and minus 1 (so in [-1, 1.008], not the server's ``/ 127.5 - 1``). The
exported model therefore takes exactly that input and has one output, the class probabilities:
the served graph's input scaling is replaced by a 1x1 depthwise convolution that turns the
library's values into what the network was trained on (an exact per-pixel affine map, and a layer
type TF.js 1.3.1 knows, unlike ``Rescaling``).

The ``tensorflowjs`` pip package cannot be imported here (it needs ``tensorflow_decision_forests``),
so the documented layers-model format is written directly: ``model.json`` holds the Keras topology
(restricted to layer types TF.js 1.3.1 deserializes) and a weights manifest; ``weights.bin`` holds
every weight as little-endian float32, in manifest order (one shard, as Teachable Machine writes it).
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ml.backend import keras
from ml.runtime import TFJS_FILES

# Layer types TF.js 1.3.1 (the Teachable Machine library's version) deserializes and every RIIM
# backbone uses; anything else would load in a current TF.js and fail in the library.
SUPPORTED_LAYERS = frozenset({
    "InputLayer", "Conv2D", "DepthwiseConv2D", "SeparableConv2D", "BatchNormalization", "ReLU", "Activation",
    "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D", "ZeroPadding2D", "Add", "Multiply",
    "Dropout", "Dense", "Flatten", "Reshape", "Softmax", "LeakyReLU", "Concatenate",
})
TM_PIXEL_DIVISOR = 127.0  # the library computes pixel / 127 - 1 (utils/tf.js, capture())
TM_LIBRARY = "@teachablemachine/image"
TM_PACKAGE_VERSION = "0.8.5"
TFJS_VERSION = "1.3.1"  # the library's peer dependency: the version the topology must load in
TM_VERSION = "2.4.10"  # the Teachable Machine export format these files follow
ENGINE_SCALE = (1 / 127.5, -1.0)  # ml.preprocess.scale as (scale, offset): what the backbones were trained on
SCALING_LAYER = "input_scaling"  # the served graphs' Rescaling layer, and the name of what replaces it
OUTPUT_LAYER = "probabilities"
# Keys the Keras serializer adds that TF.js 1.3.1 does not expect (it ignores or rejects them).
DROPPED_KEYS = ("module", "registered_name", "build_config", "compile_config")
# Training-only parts of a layer config: irrelevant to inference, and TF.js 1.3.1 knows none of Keras 2's "L2".
NULLED_CONFIG = ("kernel_regularizer", "bias_regularizer", "activity_regularizer", "beta_regularizer",
                 "gamma_regularizer", "depthwise_regularizer", "pointwise_regularizer", "kernel_constraint",
                 "bias_constraint", "beta_constraint", "gamma_constraint", "depthwise_constraint",
                 "pointwise_constraint")


class UnsupportedModel(ValueError):
    """The model uses a layer type the Teachable Machine library's TF.js cannot load."""


def tm_scaling(served_scale: tuple | None) -> tuple[np.ndarray, np.ndarray]:
    """Return (a, b) so that ``a * (pixel / 127 - 1) + b`` is what the served graph's first layer computes."""
    scale, offset = served_scale or (1.0, 0.0)
    scale, offset = np.asarray(scale, np.float64), np.asarray(offset, np.float64)
    # raw pixel = 127 * (x + 1), so scale * pixel + offset = 127 * scale * x + 127 * scale + offset
    return TM_PIXEL_DIVISOR * scale, TM_PIXEL_DIVISOR * scale + offset


def _consumers(config: dict, name: str) -> list[dict]:
    return [layer for layer in config["layers"]
            if any(ref[0] == name for node in layer["inbound_nodes"] for ref in node)]


def tm_model(served):
    """Return the single-output classifier that takes the library's [-1, 1] input.

    ``served`` is the flat served classifier (raw 0..255 pixels, ending in ``probabilities``). The
    ``Rescaling`` layers the input goes through first (the served graphs' ``input_scaling``) are
    folded into one 1x1 depthwise layer that takes the last one's name; a graph without any gets
    the layer inserted.
    """
    config = copy.deepcopy(served.get_config())
    if len(config["output_layers"]) != 1:
        raise UnsupportedModel("the served classifier must have one output, the probabilities")
    input_name = config["input_layers"][0][0]
    consumers = _consumers(config, input_name)
    served_scale, name = None, None
    # Fold the chain of Rescaling layers the input goes through: each is scale * x + offset.
    while len(consumers) == 1 and consumers[0]["class_name"] == "Rescaling":
        rescaling = consumers[0]
        scale, offset = (np.asarray(rescaling["config"][k], np.float64) for k in ("scale", "offset"))
        before = served_scale or (1.0, 0.0)
        served_scale = (before[0] * scale, before[1] * scale + offset)
        name = rescaling["name"]
        config["layers"].remove(rescaling)
        consumers = _consumers(config, name)
    if name is None:  # a graph fed raw pixels: insert the layer and feed its output to the input's consumers
        name = SCALING_LAYER
        if any(layer["name"] == name for layer in config["layers"]):
            raise UnsupportedModel(f"a layer is already named {name}")
        for layer in consumers:
            for node in layer["inbound_nodes"]:
                for ref in node:
                    if ref[0] == input_name:
                        ref[0] = name
    affine = keras.layers.DepthwiseConv2D(1, use_bias=True, name=name)
    position = next(i for i, layer in enumerate(config["layers"]) if layer["name"] == input_name) + 1
    config["layers"].insert(position, {"class_name": "DepthwiseConv2D", "config": affine.get_config(), "name": name,
                                       "inbound_nodes": [[[input_name, 0, 0, {}]]]})
    model = keras.Model.from_config(config)
    channels = int(served.input_shape[-1])
    a, b = tm_scaling(served_scale)
    for layer in model.layers:
        if layer.name == name:
            layer.set_weights([np.broadcast_to(a, (channels,)).reshape(1, 1, channels, 1).astype(np.float32),
                               np.broadcast_to(b, (channels,)).astype(np.float32)])
        elif layer.weights:
            layer.set_weights(served.get_layer(layer.name).get_weights())
    return model


def _clean(value):
    """Drop the serializer's extra keys everywhere; Keras 2.13+ writes them, TF.js 1.3.1 predates them."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if k not in DROPPED_KEYS}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def topology(model) -> dict:
    """Return the Keras topology of ``model`` in the form TF.js 1.3.1 deserializes."""
    config = _clean(json.loads(model.to_json()))
    unknown = sorted({layer["class_name"] for layer in config["config"]["layers"]} - SUPPORTED_LAYERS)
    if unknown:
        raise UnsupportedModel(f"layer types TF.js {TFJS_VERSION} cannot load: {', '.join(unknown)}")
    config["class_name"] = "Model"  # TF.js 1.3.1 predates the name "Functional"
    for layer in config["config"]["layers"]:
        layer_config = layer["config"]
        for key in NULLED_CONFIG:
            if key in layer_config:
                layer_config[key] = None
        axis = layer_config.get("axis")
        if layer["class_name"] == "BatchNormalization" and isinstance(axis, list) and len(axis) == 1:
            layer_config["axis"] = axis[0]  # TF.js takes one integer axis
    return {"class_name": config["class_name"], "config": config["config"],
            "keras_version": "tfjs-layers " + TFJS_VERSION, "backend": "tensor_flow.js"}


def _weight_entries(model) -> list[tuple[str, np.ndarray]]:
    """Return (TF.js name, value) for every weight: TF.js names them ``<layer>/<weight>`` without ``:0``."""
    entries = []
    for layer in model.layers:
        for weight in layer.weights:
            short = weight.name.split("/")[-1].split(":")[0]
            entries.append((f"{layer.name}/{short}", np.asarray(weight.numpy(), dtype="<f4")))
    return entries


def write_layers_model(model, folder: Path) -> dict:
    """Write ``model.json`` and ``weights.bin`` (little-endian float32) into ``folder``; return sizes."""
    layers_topology = topology(model)  # refuses an unsupported model before anything is written
    folder.mkdir(parents=True, exist_ok=True)
    entries = _weight_entries(model)
    weights_name = Path(TFJS_FILES["tfjs_weights"]).name
    with (folder / weights_name).open("wb") as out:
        for _, value in entries:
            out.write(value.tobytes(order="C"))
    manifest = [{"paths": [weights_name],
                 "weights": [{"name": name, "shape": list(value.shape), "dtype": "float32"} for name, value in entries]}]
    document = {"format": "layers-model", "generatedBy": "RIIM", "convertedBy": "RIIM ml.tfjs",
                "modelTopology": layers_topology, "weightsManifest": manifest}
    (folder / Path(TFJS_FILES["tfjs_model"]).name).write_text(json.dumps(document), encoding="utf-8")
    return {"weights": len(entries), "weight_bytes": (folder / weights_name).stat().st_size}


def metadata(classes: list[str], image_size: int, model_name: str = "riim-model") -> dict:
    """Return the ``metadata.json`` the library reads: labels in output order, imageSize and its version fields."""
    return {
        "tfjsVersion": TFJS_VERSION,
        "tmVersion": TM_VERSION,
        "packageVersion": TM_PACKAGE_VERSION,
        "packageName": TM_LIBRARY,
        "timeStamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "userMetadata": {"exportedBy": "RIIM"},
        "modelName": model_name,
        "labels": list(classes),
        "imageSize": int(image_size),
    }


def export_tfjs(served, out_dir: str | Path, classes: list[str], model_name: str = "riim-model") -> dict:
    """Write the TF.js layers model and its Teachable Machine metadata under ``out_dir``; return the card section."""
    out = Path(out_dir)
    model = tm_model(served)
    image_size = int(model.input_shape[1])
    if len(classes) != int(model.output_shape[-1]):
        raise ValueError(f"{len(classes)} class names for {model.output_shape[-1]} outputs")
    folder = out / Path(TFJS_FILES["tfjs_model"]).parent
    sizes = write_layers_model(model, folder)
    (out / TFJS_FILES["tfjs_metadata"]).write_text(
        json.dumps(metadata(classes, image_size, model_name), ensure_ascii=False, indent=1), encoding="utf-8")
    return {
        "enabled": True,
        "format": "tfjs layers-model",
        "tfjs_version": TFJS_VERSION,
        "library": f"{TM_LIBRARY} {TM_PACKAGE_VERSION}",
        "input": {"size": image_size, "pixels": f"centre square, pixel / {TM_PIXEL_DIVISOR:g} - 1"},
        "output": OUTPUT_LAYER,
        **sizes,
    }


def quick_classifier(network: str, alpha: float, image_size: int, weights_path: str | None,
                     kernel: np.ndarray, bias: np.ndarray):
    """Return the flat Keras twin of a quick model: the frozen backbone, pooling and its logistic head.

    The served quick graph (``ml.quick``) also averages the photo with its mirror image; the TF.js
    copy classifies the photo alone, because a mirror is no layer TF.js 1.3.1 knows.
    """
    from ml.graphs import flatten
    from ml.models import build_pretrained_backbone

    base = build_pretrained_backbone(network, alpha, image_size, weights_path)
    inputs = keras.Input((image_size, image_size, 3), name="image")
    scaled = keras.layers.Rescaling(*ENGINE_SCALE, name=SCALING_LAYER)(inputs)
    pooled = keras.layers.GlobalAveragePooling2D(name="embedding")(base(scaled, training=False))
    head = keras.layers.Dense(int(kernel.shape[1]), activation="softmax", name="head_predictions")
    model = keras.Model(inputs, head(pooled), name="quick")
    head.set_weights([np.asarray(kernel, np.float32), np.asarray(bias, np.float32)])
    return flatten(model)


def export_quick_tfjs(out_dir: str | Path, *, network: str, alpha: float, image_size: int,
                      weights_path: str | None, kernel: np.ndarray, bias: np.ndarray, classes: list[str]) -> dict:
    """Write the TF.js export of a quick model under ``out_dir``; return its card section."""
    served = quick_classifier(network, alpha, image_size, weights_path, kernel, bias)
    section = export_tfjs(served, out_dir, classes)
    section["mirror_averaging"] = False  # the served quick graph averages photo and mirror; this copy does not
    return section


def predict_tm(model, pixels: np.ndarray) -> np.ndarray:
    """Return the probabilities ``model`` gives raw 0..255 pixels after the library's scaling (for checks)."""
    x = np.asarray(pixels, np.float32) / TM_PIXEL_DIVISOR - 1.0
    return np.asarray(model.predict(x, verbose=0))
