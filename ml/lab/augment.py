"""Pixel-level augmentations the lab applies before computing embeddings (numpy and Pillow)."""

from __future__ import annotations

import numpy as np
from PIL import Image

# Each policy is a different picture of the same photo; "original" is the photo itself.
VARIANTS = ("original", "flip", "bright", "dark", "crop")


def augment(pixels: np.ndarray, variant: str) -> np.ndarray:
    """Return one augmented copy of a (H, W, 3) 0..255 float image, same shape."""
    pixels = np.asarray(pixels, np.float32)
    if variant == "original":
        return pixels
    if variant == "flip":
        return pixels[:, ::-1, :].copy()
    if variant == "bright":
        return np.clip(pixels * 1.3 + 10, 0, 255)
    if variant == "dark":
        return np.clip(pixels * 0.65, 0, 255)
    if variant == "crop":
        h, w = pixels.shape[:2]
        top, left = h // 8, w // 8
        inner = pixels[top : h - top, left : w - left]
        image = Image.fromarray(inner.round().clip(0, 255).astype(np.uint8))
        return np.asarray(image.resize((w, h), Image.BILINEAR), np.float32)
    raise ValueError(f"unknown augmentation {variant!r}")
