"""What the lab shows of a model folder's autoencoder: each photo, its copy and where the copy differs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ml import cam as cam_maps
from ml.runtime import AUTOENCODER_FILE, INPUT_NAME, open_session


class Reconstructions:
    """The autoencoder of one model folder, run one photo at a time."""

    def __init__(self, folder: str | Path):
        self.session = open_session(Path(folder) / AUTOENCODER_FILE)
        self.output_names = [o.name for o in self.session.get_outputs()]

    @property
    def input_size(self) -> int | None:
        """Return the side of the photos the autoencoder takes, or None when the graph leaves it open."""
        side = self.session.get_inputs()[0].shape[1]
        return side if isinstance(side, int) else None

    def view(self, pixels: np.ndarray) -> dict:
        """Return the mean error, the reconstruction (when exported) and the coloured error map of one photo."""
        feed = {INPUT_NAME: np.asarray(pixels, np.float32)[None]}
        outputs = dict(zip(self.output_names, self.session.run(None, feed), strict=True))
        error = outputs["error_map"][0]
        return {
            "error": float(error.mean()),
            "reconstruction": outputs["reconstruction"][0] if "reconstruction" in outputs else None,
            "error_map": cam_maps.colorize(cam_maps.normalize(error)),
        }
