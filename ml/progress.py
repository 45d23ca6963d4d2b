"""Progress reporting shared by the training stages."""

from __future__ import annotations

from typing import Callable

from ml.backend import keras


class EpochReporter(keras.callbacks.Callback):
    """Forward each epoch of a stage's Keras fit to the training progress callback (event form)."""

    def __init__(self, progress: Callable[[dict], None], epochs: int, stage: str, message: str):
        super().__init__()
        self.progress, self.epochs, self.stage, self.message = progress, epochs, stage, message

    def on_epoch_end(self, epoch, logs=None):
        self.progress(
            {
                "stage": self.stage,
                "epoch": epoch + 1,
                "epochs": self.epochs,
                "percent": 100.0 * (epoch + 1) / self.epochs,
                "metrics": {k: float(v) for k, v in (logs or {}).items()},
                "message": f"{self.message} {epoch + 1}/{self.epochs}",
            }
        )
