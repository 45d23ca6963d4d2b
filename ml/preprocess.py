"""The single preprocessing function shared by training and serving.

Pillow decode -> EXIF orientation -> RGB -> bilinear resize to a square -> scale to [-1, 1].
Training, evaluation, prediction and (part 2) export parity all call
``preprocess_image`` so the network always sees the same pixels.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from ml.errors import IMAGE_UNREADABLE, DataError

# The spec recorded in the model card; inference rebuilds preprocessing from it.
SCALE = "x / 127.5 - 1"
# The served graphs take raw 0..255 pixels and apply ``scale`` themselves, as (scale, offset).
SERVING_INPUT_SCALE = (1 / 127.5, -1.0)
RESAMPLE = "bilinear"


def preprocessing_spec(image_size: int) -> dict:
    """Describe the preprocessing for the model card."""
    return {
        "decoder": "Pillow",
        "exif_transpose": True,
        "color": "RGB",
        "resize": RESAMPLE,
        "size": [image_size, image_size],
        "scale": SCALE,
        "range": [-1.0, 1.0],
        "layout": "NHWC float32",
    }


def decode_resize(source: str | Path | bytes, image_size: int) -> np.ndarray:
    """Decode one image into an RGB uint8 array of shape (size, size, 3); raise DataError if unreadable."""
    name = "<bytes>" if isinstance(source, (bytes, bytearray)) else str(source)
    try:
        stream = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else open(source, "rb")
        with stream, Image.open(stream) as image:
            image.load()
            ImageOps.exif_transpose(image, in_place=True)  # no copy of a picture that is already upright
            return resize_upright(image, image_size)
    except (OSError, ValueError, Image.DecompressionBombError, SyntaxError) as exc:
        raise DataError(IMAGE_UNREADABLE.format(path=name, reason=str(exc) or type(exc).__name__)) from exc


def resize_upright(image: Image.Image, image_size: int) -> np.ndarray:
    """Return an already decoded, upright picture as RGB uint8 (size, size, 3): the rest of ``decode_resize``.

    A server that has decoded an upload to check it passes the picture here instead of decoding it twice.
    """
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    return np.asarray(rgb.resize((image_size, image_size), Image.BILINEAR), dtype=np.uint8)


def resize_batch(images: np.ndarray, size: int) -> np.ndarray:
    """Resize a batch of 0..255 RGB images to ``size`` x ``size`` with Pillow's bilinear filter (float32)."""
    images = np.asarray(images)
    if images.shape[1:3] == (size, size):
        return images.astype(np.float32)
    out = np.empty((len(images), size, size, 3), np.float32)
    for i, image in enumerate(images):
        pil = Image.fromarray(np.clip(image, 0, 255).round().astype(np.uint8))
        out[i] = np.asarray(pil.resize((size, size), Image.BILINEAR), np.float32)
    return out


def scale(pixels: np.ndarray) -> np.ndarray:
    """Map uint8 RGB pixels to float32 in [-1, 1] (what MobileNet expects; scratch uses the same)."""
    return pixels.astype(np.float32) / 127.5 - 1.0


def unscale(values: np.ndarray) -> np.ndarray:
    """Map [-1, 1] floats back to uint8 pixels (for rendering)."""
    return np.clip((np.asarray(values) + 1.0) * 127.5, 0, 255).round().astype(np.uint8)


def preprocess_image(source: str | Path | bytes, image_size: int) -> np.ndarray:
    """Return one image as the float32 (size, size, 3) array the network consumes."""
    return scale(decode_resize(source, image_size))


def load_pixels(source, image_size: int) -> np.ndarray:
    """Decode a path, bytes or file-like object into float32 (size, size, 3) raw 0..255 pixels.

    What every exported graph takes: they contain their own scaling, so the pixels go in unscaled.
    """
    if hasattr(source, "read"):
        source = source.read()
    return decode_resize(source, image_size).astype(np.float32)
