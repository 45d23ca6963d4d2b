"""Progress reporting shared by the training stages: each epoch of a Keras fit as an event."""

from __future__ import annotations

from ml.backend import keras
from ml.events import ProgressFn, emit, epoch_metrics


class EpochReporter(keras.callbacks.Callback):
    """Report each epoch of a stage's Keras fit as the event ``key`` (with ``epoch`` and ``epochs``)."""

    def __init__(self, progress: ProgressFn, epochs: int, stage: str, key: str):
        super().__init__()
        self.progress, self.epochs, self.stage, self.key = progress, epochs, stage, key

    def on_epoch_end(self, epoch, logs=None):
        emit(self.progress, self.stage, self.key, (epoch + 1) / self.epochs, epoch_metrics(logs),
             epoch=epoch + 1, epochs=self.epochs)
