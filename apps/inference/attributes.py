"""Tags computed from pixels alone: colours, light, orientation, sharpness. Cheap enough for every request."""
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
DOMINANT_SHARE = 0.2  # a colour is "dominant" when at least this share of pixels is nearest to it
# Variance of the Laplacian below this (on a 256 px grey copy) reads as blurry to a person.
BLUR_THRESHOLD = 60.0


def attribute_tags(picture: PILImage.Image) -> list[dict]:
    """Return [{name, score, source: "pixels"}] for an image."""
    small = picture.convert("RGB").copy()
    small.thumbnail((128, 128))
    rgb = np.asarray(small, np.float32).reshape(-1, 3)
    refs = np.array([value for value, _name in PALETTE.values()], np.float32)
    nearest = np.argmin(((rgb[:, None, :] - refs[None]) ** 2).sum(axis=2), axis=1)
    shares = np.bincount(nearest, minlength=len(refs)) / len(nearest)
    tags = []
    names = [name for _value, name in PALETTE.values()]
    for index in np.argsort(-shares):
        if shares[index] < DOMINANT_SHARE:
            break
        tags.append({"name": str(names[index]), "score": round(float(shares[index]), 3), "source": "pixels"})
    brightness = float((rgb @ np.array([0.299, 0.587, 0.114], np.float32)).mean()) / 255.0
    if brightness < 0.3:
        tags.append({"name": str(_("dark")), "score": round(1 - brightness, 3), "source": "pixels"})
    elif brightness > 0.7:
        tags.append({"name": str(_("light")), "score": round(brightness, 3), "source": "pixels"})
    width, height = picture.size
    ratio = width / max(height, 1)
    orientation = _("landscape") if ratio > 1.1 else _("portrait") if ratio < 0.9 else _("square")
    tags.append({"name": str(orientation), "score": 1.0, "source": "pixels"})
    grey = picture.convert("L").copy()
    grey.thumbnail((256, 256))
    g = np.asarray(grey, np.float32)
    laplacian = g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:] - 4 * g[1:-1, 1:-1]
    sharpness = float(laplacian.var()) if laplacian.size else 0.0
    if sharpness < BLUR_THRESHOLD:
        tags.append({"name": str(_("blurry")), "score": round(1 - sharpness / BLUR_THRESHOLD, 3), "source": "pixels"})
    return tags
