"""The one progress event the engine reports: a message key with its parameters, not a sentence.

Training, pruning, export and the autoencoder all call ``progress(Event(...))``. The key names
the message and ``params`` fills it in, so a caller that speaks another language (the platform
renders each key from its own translated table) never parses English text; ``text`` gives the
English sentence for the command line and logs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from ml.backbones import REGISTRY

# Key -> the English sentence, filled in with ``str.format(**params)``. Numbers in params are
# already rounded for display, so a translated table can substitute them as they are.
MESSAGES = {
    "data.decoded": "decoded {done}/{total}",
    # Which network the run trains, and from which weights; a ``build.fallback_*`` key says why
    # pretrained weights were wanted but missing (the run then trains the scratch CNN).
    "build.scratch": "network ready: the scratch CNN, from random weights",
    "build.random": "network ready: {backbone} {alpha} from random weights, trained end to end",
    "build.pretrained_directory": "network ready: {backbone} {alpha} with the pretrained weights {file} "
                                  "from the weights folder",
    "build.pretrained_cache": "network ready: {backbone} {alpha} with the pretrained weights {file} "
                              "from the Keras cache",
    "build.pretrained_download": "network ready: {backbone} {alpha} with the pretrained weights {file}, "
                                 "just downloaded",
    "build.pretrained_package": "network ready: {backbone} {alpha} with the pretrained weights {file} "
                                "from the Python package {package}",
    "build.fallback_package_missing": "no pretrained weights: the Python package {package} that ships them is not "
                                      "installed; training the scratch CNN instead",
    "build.fallback_file_missing": "no pretrained weights: the weights file {file} is not in the weights folder "
                                   "(RIIM_WEIGHTS_DIR); training the scratch CNN instead",
    "build.fallback_no_imagenet": "no pretrained weights: there are no ImageNet weights for {backbone} {alpha}; "
                                  "training the scratch CNN instead",
    "build.fallback_not_found": "no pretrained weights: {file} is neither in the weights folder ({folder}) nor in "
                                "the Keras cache; training the scratch CNN instead",
    "build.fallback_not_found_download_failed": "no pretrained weights: {file} is neither in the weights folder "
                                                "({folder}) nor in the Keras cache, and downloading it failed "
                                                "({error}); training the scratch CNN instead",
    "build.fallback_no_folder": "no pretrained weights: {file} is not in the Keras cache and no weights folder "
                                "(RIIM_WEIGHTS_DIR) is set; training the scratch CNN instead",
    "build.fallback_no_folder_download_failed": "no pretrained weights: {file} is not in the Keras cache, no "
                                                "weights folder (RIIM_WEIGHTS_DIR) is set and downloading it "
                                                "failed ({error}); training the scratch CNN instead",
    "build.fallback_unreadable": "no pretrained weights: the weights file {file} could not be loaded ({error}); "
                                 "training the scratch CNN instead",
    "kfold.fold": "fold {fold}/{folds}",
    "kfold.done": "k-fold done",
    "train.epoch": "epoch {epoch}/{epochs} loss {loss} val_acc {val_accuracy}",
    "evaluate.accuracy": "accuracy {accuracy}",
    "prune.start": "pruning to {percent}% sparsity",
    "prune.epoch": "pruning fine-tune epoch {epoch}/{epochs}",
    "export.start": "exporting ONNX and TFLite",
    "quantize.int8": "quantizing to int8",
    "quantize.float16": "converting to float16",
    "parity.start": "comparing Keras, ONNX and TFLite",
    "tfjs.start": "writing the TensorFlow.js model",
    "anomaly.start": "fitting the anomaly detector",
    "autoencoder.start": "training the autoencoder",
    "autoencoder.epoch": "autoencoder epoch {epoch}/{epochs}",
    "tags.start": "fitting the tag head",
    "report.done": "card written",
}


@dataclass(frozen=True)
class Event:
    """One progress report: which stage, how far along (0..1, or None when unknown), and what happened."""

    stage: str
    key: str  # a key of MESSAGES
    fraction: float | None = None
    params: dict = field(default_factory=dict)
    metrics: dict | None = None  # an epoch's logs (loss, accuracy, val_loss, val_accuracy), for live curves

    def __post_init__(self):
        if self.key not in MESSAGES:
            raise ValueError(f"unknown progress event key {self.key!r}")

    @property
    def text(self) -> str:
        """The English sentence of this event."""
        return MESSAGES[self.key].format(**self.params)

    @property
    def epoch(self) -> int | None:
        """The epoch this event ends, for epoch events."""
        return self.params.get("epoch")

    def at(self, fraction: float) -> "Event":
        """Return the same event at another fraction (e.g. the stage's share mapped onto a whole run)."""
        return replace(self, fraction=fraction)


ProgressFn = Callable[[Event], None]

FALLBACK_PREFIX = "build.fallback_"


def backbone_event(backbone: str, alpha: float, resolution, *, pretrained: bool, fallback: bool,
                   load_error: str | None = None) -> tuple[str, dict]:
    """Return the build event's key and parameters: the network built, and why it fell back when it did.

    ``resolution`` is the ``ml.weights.WeightsResolution`` the network was built from; ``load_error``
    is why its file could not be loaded, when that made the run fall back.
    """
    entry = REGISTRY.get(backbone)
    network = {"backbone": entry.display_name if entry else backbone,
               "alpha": entry.width(alpha) if entry and entry.width(alpha) is not None else ""}
    if fallback:
        if load_error is not None:
            file = (resolution.params or {}).get("file") or resolution.requested
            return f"{FALLBACK_PREFIX}unreadable", {"file": file, "error": load_error}
        return f"{FALLBACK_PREFIX}{resolution.reason}", {**network, **resolution.params}
    if backbone == "scratch":
        return "build.scratch", {}
    if not pretrained:
        return "build.random", network
    return f"build.pretrained_{resolution.source}", {**network, **resolution.params}


def emit(progress: ProgressFn | None, stage: str, key: str, fraction: float | None = None,
         metrics: dict | None = None, **params) -> None:
    """Send one event to ``progress`` when there is a listener."""
    if progress is not None:
        progress(Event(stage, key, fraction, params, metrics))


def epoch_metrics(logs: dict | None) -> dict:
    """Return an epoch's Keras logs as plain floats."""
    return {k: float(v) for k, v in (logs or {}).items()}
