"""Data augmentation as Keras preprocessing layers, applied to training batches only."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ml.config import OPTIONS_BY_NAME
from ml.errors import CONFIG_INVALID, ConfigError


@dataclass(frozen=True)
class AugmentationSpec:
    """Strength of each random transformation; 0 (or None) leaves it out."""

    flip: str | None = None  # "horizontal", "vertical" or "horizontal_and_vertical"
    rotation: float = 0.0  # fraction of a full turn, both directions
    zoom: float = 0.0  # fraction of the side, in and out
    translation: float = 0.0  # fraction of the side, both axes
    contrast: float = 0.0  # relative contrast change
    brightness: float = 0.0  # fraction of the value range

    def to_dict(self) -> dict:
        return asdict(self)


_SPECS = {
    "none": AugmentationSpec(),
    # Photos of everyday objects: mirror them and move them a little.
    "light": AugmentationSpec(flip="horizontal", rotation=0.05, zoom=0.1, translation=0.05, contrast=0.1),
    # Small datasets trained from scratch need more variety to avoid memorising.
    "strong": AugmentationSpec(
        flip="horizontal", rotation=0.1, zoom=0.2, translation=0.1, contrast=0.2, brightness=0.1
    ),
}
# The preset names are the ``augment`` option's choices in ml/config.py; a name added there
# without a spec here fails at import rather than at the first training run.
PRESETS = {name: _SPECS[name] for name in OPTIONS_BY_NAME["augment"].choices}


def augmentation_spec(preset: str | AugmentationSpec) -> AugmentationSpec:
    """Return the spec of a preset name, or the spec itself."""
    if isinstance(preset, AugmentationSpec):
        return preset
    if preset not in PRESETS:
        raise ConfigError(CONFIG_INVALID.format(reason=f"unknown augmentation preset '{preset}'"))
    return PRESETS[preset]


def make_augmentation(preset: str | AugmentationSpec, seed: int | None = None):
    """Build a Keras ``Sequential`` of random layers for [-1, 1] images, or None for no augmentation."""
    from ml.backend import keras

    spec = augmentation_spec(preset)
    layers = keras.layers
    # Keras' contrast and brightness layers assume pixel values in [0, 255] (RandomContrast clips
    # to that range), so augment in pixel units and map back to [-1, 1] afterwards.
    stages = [layers.Rescaling(127.5, offset=127.5, name="to_pixels")]
    if spec.flip:
        stages.append(layers.RandomFlip(spec.flip, seed=seed))
    if spec.rotation:
        stages.append(layers.RandomRotation(spec.rotation, fill_mode="reflect", seed=seed))
    if spec.zoom:
        stages.append(layers.RandomZoom(spec.zoom, fill_mode="reflect", seed=seed))
    if spec.translation:
        stages.append(layers.RandomTranslation(spec.translation, spec.translation, fill_mode="reflect", seed=seed))
    if spec.contrast:
        stages.append(layers.RandomContrast(spec.contrast, seed=seed))
    if spec.brightness:
        stages.append(layers.RandomBrightness(spec.brightness, value_range=(0.0, 255.0), seed=seed))
    if len(stages) == 1:
        return None
    stages.append(layers.Rescaling(1 / 127.5, offset=-1.0, name="to_unit"))
    # Rotation and zoom interpolate; keep exactly the [-1, 1] range the network was built for.
    stages.append(layers.Lambda(lambda t: keras.backend.clip(t, -1.0, 1.0), name="clip"))
    return keras.Sequential(stages, name="augmentation")


def render_augmentation_grid(
    image: str | Path | bytes,
    out_png: str | Path,
    preset: str | AugmentationSpec = "strong",
    image_size: int = 160,
    rows: int = 3,
    cols: int = 4,
    seed: int = 0,
) -> Path:
    """Render the original image (top left) and augmented variants of it as one PNG grid."""
    from PIL import Image

    from ml.backend import tf
    from ml.preprocess import preprocess_image, unscale

    original = preprocess_image(image, image_size)
    tf.random.set_seed(seed)
    augment = make_augmentation(preset, seed=seed)
    batch = np.repeat(original[None], rows * cols - 1, axis=0)
    variants = augment(batch, training=True).numpy() if augment is not None else batch
    tiles = [original, *variants]
    pad = 4
    grid = Image.new("RGB", (cols * (image_size + pad) + pad, rows * (image_size + pad) + pad), "white")
    for i, tile in enumerate(tiles):
        r, c = divmod(i, cols)
        grid.paste(Image.fromarray(unscale(tile)), (pad + c * (image_size + pad), pad + r * (image_size + pad)))
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    grid.save(out_png, format="PNG")
    return out_png
