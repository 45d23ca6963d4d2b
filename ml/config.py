"""The frozen training configuration saved inside every model card."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from ml.errors import CONFIG_INVALID, ConfigError

BACKBONES = ("scratch", "mobilenet", "mobilenet_v2")
AUGMENT_PRESETS = ("none", "light", "strong")


@dataclass(frozen=True)
class TrainConfig:
    """Every hyperparameter of one training run; rebuilt from the card to reproduce it."""

    backbone: str = "mobilenet"  # scratch | mobilenet | mobilenet_v2
    alpha: float = 0.25  # MobileNet width multiplier: 0.25 is small enough for 2 CPU cores
    weights: str = "imagenet"  # "imagenet", a file name inside the weights folder, or "none"
    image_size: int = 224  # square input side in pixels
    batch_size: int = 32
    epochs: int = 10  # head epochs (pretrained) or all epochs (scratch)
    fine_tune_epochs: int = 5  # second phase with the top of the base unfrozen; 0 skips it
    fine_tune_layers: int = 20  # how many of the base's top layers to unfreeze (batch norm stays frozen)
    learning_rate: float = 1e-3  # Adam, for the new head or a scratch network
    fine_tune_learning_rate: float = 1e-4  # lower so the pretrained filters are not destroyed
    augment: str = "light"  # none | light | strong, applied to training batches only
    dropout: float = 0.3  # before the dense softmax layer
    l2: float = 1e-4  # weight decay on the dense head (and scratch convolutions)
    patience: int = 4  # early stopping on validation loss; the best epoch's weights are kept
    folds: int = 5  # k of stratified k-fold; 0 or 1 skips cross-validation
    kfold_epochs: int = 0  # epochs per fold; 0 picks a cheap default (see validation.py)
    val_fraction: float = 0.15  # of the training pool, for early stopping
    test_fraction: float = 0.15  # held out when the data has no split column
    tta: bool = False  # test-time augmentation: average the prediction with its mirror image
    seed: int = 42
    scratch_filters: tuple = field(default=(32, 64, 128, 256))  # conv blocks of the scratch CNN
    prune: float | None = None  # target sparsity of magnitude pruning (e.g. 0.5); None skips pruning
    quantize: tuple = ()  # quantized variants to write: "int8" and/or "float16"

    def __post_init__(self) -> None:
        checks = [
            (self.backbone in BACKBONES, f"backbone must be one of {', '.join(BACKBONES)}"),
            (self.augment in AUGMENT_PRESETS, f"augment must be one of {', '.join(AUGMENT_PRESETS)}"),
            (0 < self.alpha <= 1.4, "alpha must be in (0, 1.4]"),
            (32 <= self.image_size <= 1024, "image size must be between 32 and 1024"),
            (self.batch_size >= 1, "batch size must be positive"),
            (self.epochs >= 1, "epochs must be at least 1"),
            (self.fine_tune_epochs >= 0, "fine-tune epochs must be >= 0"),
            (self.fine_tune_layers >= 0, "fine-tune layers must be >= 0"),
            (0 <= self.dropout < 1, "dropout must be in [0, 1)"),
            (self.l2 >= 0, "l2 must be >= 0"),
            (self.folds == 0 or self.folds >= 2, "folds must be 0 or >= 2"),
            (self.kfold_epochs >= 0, "kfold epochs must be >= 0"),
            (0 < self.val_fraction < 0.5, "validation fraction must be in (0, 0.5)"),
            (0 < self.test_fraction < 0.5, "test fraction must be in (0, 0.5)"),
            (self.learning_rate > 0 and self.fine_tune_learning_rate > 0, "learning rates must be positive"),
            (len(self.scratch_filters) >= 1, "scratch needs at least one conv block"),
            (self.prune is None or 0 < self.prune < 1, "prune must be a sparsity in (0, 1)"),
            (set(self.quantize) <= {"int8", "float16"}, "quantize takes int8 and/or float16"),
        ]
        for ok, reason in checks:
            if not ok:
                raise ConfigError(CONFIG_INVALID.format(reason=reason))

    @property
    def pretrained(self) -> bool:
        return self.backbone != "scratch" and self.weights != "none"

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["scratch_filters"] = list(self.scratch_filters)
        data["quantize"] = list(self.quantize)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        if "scratch_filters" in values:
            values["scratch_filters"] = tuple(values["scratch_filters"])
        if "quantize" in values:
            values["quantize"] = tuple(values["quantize"] or ())
        return cls(**values)

    def replace(self, **changes) -> "TrainConfig":
        return dataclasses.replace(self, **changes)
