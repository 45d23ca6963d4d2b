"""Class activation maps computed with numpy from the served model's outputs.

ONNX Runtime has no gradients, so the server cannot run Grad-CAM. With a head of
GlobalAveragePooling -> Dense, the logit of class k is the spatial mean of
``feature_maps · W[:, k]`` plus a bias, so that weighted sum *is* the map of where
the network found evidence for k (Zhou et al., 2016). No TensorFlow here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ml.runtime import HEAD_FILE  # noqa: F401  (callers name the head file as cam.HEAD_FILE)


def load_head(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Load the Dense head's kernel (channels, classes) and bias (classes,) from ``head.npz``."""
    with np.load(Path(path)) as data:
        return data["kernel"].astype(np.float32), data["bias"].astype(np.float32)


def save_head(path: str | Path, kernel: np.ndarray, bias: np.ndarray) -> Path:
    """Write the Dense head's kernel and bias so the server can compute CAMs."""
    path = Path(path)
    np.savez(path, kernel=np.asarray(kernel, np.float32), bias=np.asarray(bias, np.float32))
    return path


def class_activation_map(feature_maps: np.ndarray, kernel: np.ndarray, class_index: int) -> np.ndarray:
    """Return the raw CAM (h, w) of one image's feature maps (h, w, c) for one class."""
    feature_maps = np.asarray(feature_maps, np.float32)
    if feature_maps.ndim == 4:
        if feature_maps.shape[0] != 1:
            raise ValueError("class_activation_map takes the feature maps of one image")
        feature_maps = feature_maps[0]
    if feature_maps.shape[-1] != kernel.shape[0]:
        raise ValueError(f"feature maps have {feature_maps.shape[-1]} channels, the head expects {kernel.shape[0]}")
    return feature_maps @ kernel[:, class_index]


def normalize(cam: np.ndarray) -> np.ndarray:
    """Scale a CAM to [0, 1], keeping only positive evidence (negative means 'not this class')."""
    cam = np.maximum(np.asarray(cam, np.float32), 0.0)
    peak = float(cam.max())
    return cam / peak if peak > 0 else cam


def upsample(cam: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """Resize a [0, 1] map to the image size (width, height) with bilinear interpolation."""
    width, height = (size, size) if isinstance(size, int) else size
    image = Image.fromarray(np.ascontiguousarray(cam, np.float32))  # float32 gives a mode "F" image
    return np.asarray(image.resize((width, height), Image.BILINEAR), np.float32)


def colorize(heat: np.ndarray) -> np.ndarray:
    """Map a [0, 1] heat map to uint8 RGB with a blue-to-red ramp (no matplotlib on the server)."""
    heat = np.clip(np.asarray(heat, np.float32), 0.0, 1.0)
    # The classic "jet" ramp as three piecewise-linear channels.
    red = np.clip(1.5 - np.abs(4.0 * heat - 3.0), 0.0, 1.0)
    green = np.clip(1.5 - np.abs(4.0 * heat - 2.0), 0.0, 1.0)
    blue = np.clip(1.5 - np.abs(4.0 * heat - 1.0), 0.0, 1.0)
    return (np.stack([red, green, blue], axis=-1) * 255).round().astype(np.uint8)


# The ramp sampled at 256 levels, as a Pillow palette.
_PALETTE = colorize(np.linspace(0.0, 1.0, 256)).reshape(-1).tobytes()


def colormap_image(heat: np.ndarray) -> Image.Image:
    """Return a [0, 1] heat map as an 8-bit palette image with the ``colorize`` ramp.

    One byte per pixel instead of three: encoding it as PNG costs a fraction of an RGB
    overlay, so it is what a request answers; the viewer blends it over the photo it has.
    """
    levels = (np.clip(np.asarray(heat, np.float32), 0.0, 1.0) * 255).round().astype(np.uint8)
    image = Image.fromarray(levels)
    image.putpalette(_PALETTE)
    return image


def overlay(image: np.ndarray, heat: np.ndarray, opacity: float = 0.45) -> np.ndarray:
    """Blend a [0, 1] heat map of the same height and width over an RGB image (0..255)."""
    image = np.asarray(image, np.float32)
    if heat.shape[:2] != image.shape[:2]:
        heat = upsample(heat, (image.shape[1], image.shape[0]))
    blended = (1.0 - opacity) * image + opacity * colorize(heat).astype(np.float32)
    return np.clip(blended, 0, 255).round().astype(np.uint8)
