"""Pictures of an image by a model version, computed on demand: CAM, error map, feature-map grids, network view."""
import io

import numpy as np
from django.utils.translation import gettext_lazy
from PIL import Image as PILImage

from apps.common.exceptions import ApplicationError, ConflictError
from apps.inference.loader import predictor_for
from apps.training.artifacts import artifacts_local_dir
from ml import cam as cam_maps
from ml.runtime import ACTIVATIONS_FILE

NO_ACTIVATIONS = gettext_lazy("This model version has no activation graph for the network view.")
UNKNOWN_LAYER = gettext_lazy("This layer has no activations to show.")
FEATURE_MAPS_SHOWN = 16  # channels drawn in a feature-map grid: enough to see variety, small enough to read
TILE_PX = 64  # side of one feature-map tile in the grid


def png_bytes(picture: np.ndarray | PILImage.Image, compress_level: int = 1) -> bytes:
    """Encode a picture (array of 0..255 or Pillow image) as PNG."""
    if not isinstance(picture, PILImage.Image):
        picture = PILImage.fromarray(np.asarray(picture, np.uint8))
    out = io.BytesIO()
    picture.save(out, format="PNG", compress_level=compress_level)
    return out.getvalue()


def image_bytes(image) -> bytes:
    """Return a stored image's file as bytes."""
    with image.file.open("rb") as fh:
        return fh.read()


def _stored_pixels(image, predictor) -> np.ndarray:
    return predictor.load(image_bytes(image))


def cam_png(*, image, version) -> bytes:
    """Return the colourised class-activation map alone (the page blends it with a slider)."""
    predictor = predictor_for(version)
    if predictor.head is None or not version.explainable:
        raise ConflictError(NO_ACTIVATIONS)
    pixels = _stored_pixels(image, predictor)
    out = predictor.run(pixels[None], outputs=("probabilities", "feature_maps"))
    heat = predictor.cam(out["feature_maps"][0], int(np.argmax(out["probabilities"][0])))
    return png_bytes(cam_maps.colormap_image(heat))


def error_map_png(*, image, version) -> bytes:
    """Return the autoencoder's reconstruction error over the picture, as a heat overlay."""
    predictor = predictor_for(version)
    # On object storage, fetch into the predictor's local copy an autoencoder added to the version since it opened.
    artifacts_local_dir(version)
    pixels = _stored_pixels(image, predictor)
    heat = cam_maps.normalize(np.asarray(predictor.error_map(pixels), np.float32))
    return png_bytes(cam_maps.overlay(pixels, heat, opacity=0.6))


def _short_name(name: str) -> str:
    return name.rsplit("/", 1)[-1]


def network_layers(*, version) -> list[dict]:
    """Return the architecture layer by layer from the card, marking the layers whose activations can be shown."""
    available = set()
    if ACTIVATIONS_FILE in version.files:
        predictor = predictor_for(version)
        available = set(predictor.activation_names())
    rows = []
    for row in version.metadata.get("layers", []):
        short = _short_name(row.get("name", ""))
        rows.append({
            "name": row.get("name", ""),
            "type": row.get("type", ""),
            "output_shape": row.get("output_shape", ""),
            "params": row.get("params", 0),
            "activation": short if short in available else None,
        })
    return rows


def image_network(*, image, version) -> list[dict]:
    """Return the network view's layers, each with this image's activation statistics (None where not shown)."""
    layers = network_layers(version=version)
    summary = activation_summary(image=image, version=version) if ACTIVATIONS_FILE in version.files else {}
    for row in layers:
        row["stats"] = summary.get(row["activation"]) if row["activation"] else None
    return layers


def feature_maps_grid(maps: np.ndarray, count: int = FEATURE_MAPS_SHOWN) -> np.ndarray:
    """Tile the first ``count`` channels of one (h, w, c) activation into a greyscale grid (each scaled to 0..255)."""
    maps = np.asarray(maps, np.float32)
    channels = min(count, maps.shape[-1])
    columns = int(np.ceil(np.sqrt(channels)))
    rows = int(np.ceil(channels / columns))
    grid = np.full((rows * (TILE_PX + 2), columns * (TILE_PX + 2)), 255, np.uint8)
    for index in range(channels):
        channel = maps[..., index]
        low, high = float(channel.min()), float(channel.max())
        scaled = (channel - low) / (high - low) if high > low else np.zeros_like(channel)
        tile = PILImage.fromarray((scaled * 255).round().astype(np.uint8)).resize((TILE_PX, TILE_PX), PILImage.NEAREST)
        r, c = divmod(index, columns)
        grid[r * (TILE_PX + 2) + 1: r * (TILE_PX + 2) + 1 + TILE_PX, c * (TILE_PX + 2) + 1: c * (TILE_PX + 2) + 1 + TILE_PX] = tile
    return grid


def activation_png(*, image, version, layer: str | None = None) -> bytes:
    """Return a grid of one layer's activations for this image (default: the first layer)."""
    if ACTIVATIONS_FILE not in version.files:
        raise ConflictError(NO_ACTIVATIONS)
    predictor = predictor_for(version)
    names = predictor.activation_names()
    name = _short_name(layer) if layer else (names[0] if names else None)
    if name not in names:
        raise ApplicationError(UNKNOWN_LAYER)
    values = predictor.activations(_stored_pixels(image, predictor))
    return png_bytes(feature_maps_grid(values[name]))


def activation_summary(*, image, version) -> dict:
    """Return per-layer activation statistics of one image (mean, peak, channels)."""
    predictor = predictor_for(version)
    values = predictor.activations(_stored_pixels(image, predictor))
    return {
        name: {"shape": list(v.shape), "mean": round(float(v.mean()), 4), "max": round(float(v.max()), 4)}
        for name, v in values.items()
    }
