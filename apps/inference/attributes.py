"""Tags computed from pixels alone: colours, light, orientation, sharpness. Cheap enough for every request."""
import functools

import numpy as np
from django.utils.translation import gettext_lazy as _
from PIL import Image as PILImage

# Reference colours (RGB) and their names; the nearest one names each pixel.
PALETTE = {
    "red": ((200, 30, 30), _("red")),
    "orange": ((235, 130, 30), _("orange")),
    "yellow": ((230, 210, 50), _("yellow")),
    "green": ((60, 150, 60), _("green")),
    "blue": ((40, 90, 200), _("blue")),
    "purple": ((130, 60, 160), _("purple")),
    "pink": ((235, 150, 190), _("pink")),
    "brown": ((120, 80, 45), _("brown")),
    "black": ((20, 20, 20), _("black")),
    "white": ((240, 240, 240), _("white")),
    "gray": ((128, 128, 128), _("gray")),
}
_REFERENCES = np.array([value for value, _name in PALETTE.values()], np.float32)
# Every name a pixel tag can have. A stored analysis keeps the names in the language of the request
# that computed it; ``pixel_tag_name`` gives them back in the reader's language.
PIXEL_TAG_NAMES = (*(name for _value, name in PALETTE.values()), _("dark"), _("light"), _("landscape"), _("portrait"),
                   _("square"), _("blurry"))
_BITS = 5  # colours are looked up at 5 bits per channel: 32,768 cells, finer than any colour name
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R 601 weights, as Pillow's "L" conversion


@functools.cache
def _nearest_table() -> np.ndarray:
    """Return the index of the nearest reference colour for every 5-bit RGB cell (computed once)."""
    centres = (np.arange(1 << _BITS, dtype=np.float32) + 0.5) * (1 << (8 - _BITS))
    grid = np.stack(np.meshgrid(centres, centres, centres, indexing="ij"), axis=-1).reshape(-1, 3)
    nearest = np.argmin(((grid[:, None, :] - _REFERENCES[None]) ** 2).sum(axis=2), axis=1)
    return nearest.astype(np.uint8).reshape((1 << _BITS,) * 3)


DOMINANT_SHARE = 0.2  # a colour is "dominant" when at least this share of pixels is nearest to it
COLOUR_SIDE = 64  # colour shares are stable at 64 px and cost a sixteenth of 256 px
# Variance of the Laplacian below this (on a 256 px grey copy) reads as blurry to a person.
BLUR_THRESHOLD = 60.0
BLUR_SIDE = 256
# Shrink by whole factors first (a cheap box filter), then resample the last step: fast on big photos.
REDUCING_GAP = 2.0


def _laplacian_variance(grey: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian: low means few sharp edges (built in place, on every request)."""
    if min(grey.shape) < 3:
        return 0.0
    laplacian = grey[:-2, 1:-1] + grey[2:, 1:-1]
    laplacian += grey[1:-1, :-2]
    laplacian += grey[1:-1, 2:]
    laplacian -= 4 * grey[1:-1, 1:-1]
    values = laplacian.ravel()
    mean = float(values.mean())
    return max(0.0, float(values @ values) / values.size - mean * mean)


def _shrunk(picture: PILImage.Image, side: int, mode: str) -> PILImage.Image:
    small = picture if picture.mode == mode else picture.convert(mode)
    small = small.copy() if small is picture else small
    small.thumbnail((side, side), reducing_gap=REDUCING_GAP)
    return small


@functools.cache
def _pixel_tag_lookup() -> dict:
    """Map each pixel tag name, in every language of the site, to its translatable name."""
    from django.conf import settings
    from django.utils import translation

    lookup = {}
    for code, _language in settings.LANGUAGES:
        with translation.override(code):
            lookup.update({str(name): name for name in PIXEL_TAG_NAMES})
    return lookup


def pixel_tag_name(stored: str) -> str:
    """Return a stored pixel tag's name in the active language (unknown names as they are)."""
    name = _pixel_tag_lookup().get(stored)
    return stored if name is None else str(name)


def attribute_tags(picture: PILImage.Image, pixels: np.ndarray | None = None) -> list[dict]:
    """Return [{name, score, source: "pixels"}] for an image.

    ``pixels`` (the model's resized 0..255 input, when already computed) spares resampling the
    full picture again; orientation always comes from the picture's own size.
    """
    if pixels is not None and min(pixels.shape[:2]) >= COLOUR_SIDE:
        step = max(1, pixels.shape[0] // COLOUR_SIDE)
        rgb = np.asarray(pixels[::step, ::step], np.float32).reshape(-1, 3)
        g = np.asarray(pixels, np.float32) @ _LUMA
    else:
        rgb = np.asarray(_shrunk(picture, COLOUR_SIDE, "RGB"), np.float32).reshape(-1, 3)
        g = np.asarray(_shrunk(picture, BLUR_SIDE, "L"), np.float32)
    cells = np.clip(rgb, 0, 255).astype(np.uint8) >> (8 - _BITS)
    # A table lookup instead of distances to every reference per pixel: ~50x cheaper on each request.
    index = (cells[:, 0].astype(np.intp) << (2 * _BITS)) | (cells[:, 1].astype(np.intp) << _BITS) | cells[:, 2]
    nearest = _nearest_table().ravel()[index]
    shares = np.bincount(nearest, minlength=len(_REFERENCES)) / len(nearest)
    tags = []
    names = [name for _value, name in PALETTE.values()]
    for index in np.argsort(-shares):
        if shares[index] < DOMINANT_SHARE:
            break
        tags.append({"name": str(names[index]), "score": round(float(shares[index]), 3), "source": "pixels"})
    brightness = float((rgb @ _LUMA).mean()) / 255.0
    if brightness < 0.3:
        tags.append({"name": str(_("dark")), "score": round(1 - brightness, 3), "source": "pixels"})
    elif brightness > 0.7:
        tags.append({"name": str(_("light")), "score": round(brightness, 3), "source": "pixels"})
    width, height = picture.size
    ratio = width / max(height, 1)
    orientation = _("landscape") if ratio > 1.1 else _("portrait") if ratio < 0.9 else _("square")
    tags.append({"name": str(orientation), "score": 1.0, "source": "pixels"})
    sharpness = _laplacian_variance(g)
    if sharpness < BLUR_THRESHOLD:
        tags.append({"name": str(_("blurry")), "score": round(1 - sharpness / BLUR_THRESHOLD, 3), "source": "pixels"})
    return tags
