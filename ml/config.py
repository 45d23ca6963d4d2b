"""Every training option, defined once, and the frozen configuration saved inside every model card.

``OPTIONS`` is the one definition of what a user may set (type, range or choices, intent); the
CLI flags, the Django form, the API serializer and ``manage.py train`` are built from it, and
``TrainConfig`` checks its values against it. ``DEFAULT_SETS`` holds the two default sets:
``engine`` (``python -m ml train`` and ``TrainConfig()``) and ``classroom`` (the platform's
form, API, admin and commands; only the options it names are offered there).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import numbers
from dataclasses import dataclass
from types import MappingProxyType

from ml import backbones
from ml.errors import CONFIG_INVALID, ConfigError

BACKBONES = backbones.NAMES
AUGMENT_PRESETS = ("none", "light", "strong")
# Widths with published ImageNet weights (the registry's): 0.25 exists only for MobileNet, 0.35, 1.3 and
# 1.4 only for V2. Networks of a fixed width (EfficientNet-Lite) ignore it.
ALPHAS = backbones.WIDTHS
QUANTIZE_CHOICES = ("int8", "float16")
# The two kinds of run, named once: the platform's TrainingRun.Mode takes its values from these.
QUICK, FULL = "quick", "full"
MODES = (QUICK, FULL)
MAX_SEED = 2**31 - 1  # numpy and TensorFlow seeds are non-negative 32-bit integers


def _number(value) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


@dataclass(frozen=True)
class Option:
    """One user-settable training option: what values it takes and what it is for."""

    name: str
    kind: type  # str, int, float or bool: the type of one value
    help: str  # the intent, in one line
    choices: tuple = ()  # the allowed values; empty means any value of the range
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False  # the value must be greater than the minimum, not equal to it
    exclusive_maximum: bool = False
    excluded: tuple = ()  # values inside the range that are still refused
    many: bool = False  # a list of values, each checked (a comma-separated flag on the command line)
    nullable: bool = False  # None is accepted and means "off"
    max_length: int | None = None  # of a text value

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def label(self) -> str:
        return self.name.replace("_", " ")

    def interval(self) -> str:
        """Write the range as an interval ("[0, 1)") or a bound (">= 1"); "" when there is none."""
        low = None if self.minimum is None else _number(self.minimum)
        high = None if self.maximum is None else _number(self.maximum)
        if low is not None and high is not None:
            return f"{'(' if self.exclusive_minimum else '['}{low}, {high}{')' if self.exclusive_maximum else ']'}"
        if low is not None:
            return f"{'>' if self.exclusive_minimum else '>='} {low}"
        if high is not None:
            return f"{'<' if self.exclusive_maximum else '<='} {high}"
        return ""

    def rule(self) -> str:
        """Say what the option accepts: the reason given for every refused value."""
        if self.kind is bool:
            return f"{self.label} must be true or false"
        if self.choices:
            listed = ", ".join(_number(c) if isinstance(c, float) else str(c) for c in self.choices)
            return f"{self.label} must be {'a subset' if self.many else 'one'} of {listed}"
        if self.kind is str:
            return f"{self.label} must be a text of at most {self.max_length} characters"
        noun = ("one or more integers" if self.many else "an integer") if self.kind is int else "a number"
        interval = self.interval()
        text = f"{self.label} must be {noun} {'in ' if interval[:1] in '[(' else ''}{interval}".strip()
        if self.excluded:
            text += f", except {', '.join(_number(v) for v in self.excluded)}"
        return text + (", or none" if self.nullable else "")

    def accepts(self, value) -> bool:
        """Whether one value (an item, for a list option) is allowed."""
        if self.kind is bool:
            return isinstance(value, bool)
        if self.choices:
            return not isinstance(value, bool) and value in self.choices
        if self.kind is str:
            return isinstance(value, str) and (self.max_length is None or len(value) <= self.max_length)
        numeric = numbers.Integral if self.kind is int else numbers.Real
        if not isinstance(value, numeric) or isinstance(value, bool):
            return False
        if self.minimum is not None and (value <= self.minimum if self.exclusive_minimum else value < self.minimum):
            return False
        if self.maximum is not None and (value >= self.maximum if self.exclusive_maximum else value > self.maximum):
            return False
        return value not in self.excluded

    def problem(self, value) -> str | None:
        """Return why a value is refused, or None when it is accepted."""
        if value is None:
            return None if self.nullable else self.rule()
        if self.many:
            if not isinstance(value, (list, tuple)) or (not value and not self.choices):
                return self.rule()
            return None if all(self.accepts(item) for item in value) else self.rule()
        return None if self.accepts(value) else self.rule()

    def parse(self, text: str):
        """Turn a command-line string into a checked value; raise ValueError with the reason."""
        if self.many:
            items = [self._convert(part.strip()) for part in text.split(",") if part.strip()]
            value = tuple(dict.fromkeys(items)) if self.choices else tuple(items)  # a choice counts once
        elif self.nullable and text.strip().lower() in ("", "none"):
            value = None
        else:
            value = self._convert(text.strip())
        reason = self.problem(value)
        if reason:
            raise ValueError(f"{reason}: {text}")
        return value

    def _convert(self, text: str):
        if self.kind is str:
            return text
        try:
            return self.kind(text)
        except ValueError:
            raise ValueError(f"{self.label} must be {'an integer' if self.kind is int else 'a number'}: {text}") from None


OPTIONS = (
    Option("mode", str, "quick: a linear head on cached frozen-backbone embeddings, in seconds; "
           "full: the whole training pipeline (fine-tuning, k-fold, pruning, quantization), in minutes",
           choices=MODES),
    Option("backbone", str, "network: a pretrained one of ml.backbones (EfficientNet-Lite0-2, MobileNet, "
           "MobileNetV2), or a small CNN from scratch",
           choices=BACKBONES),
    Option("alpha", float, "MobileNet width multiplier: 0.25 is small enough for 2 CPU cores (EfficientNet-Lite "
           "ignores it)", choices=ALPHAS),
    Option("weights", str, "imagenet, none, or a weights file inside the weights folder", max_length=200),
    Option("image_size", int, "square input side in pixels", minimum=32, maximum=1024),
    Option("batch_size", int, "images per gradient step", minimum=1),
    Option("epochs", int, "head epochs (pretrained) or all epochs (scratch)", minimum=1, maximum=200),
    Option("fine_tune_epochs", int, "second phase with the top of the base unfrozen; 0 skips it",
           minimum=0, maximum=200),
    Option("fine_tune_layers", int, "how many of the base's top layers to unfreeze (batch norm stays frozen)",
           minimum=0),
    Option("learning_rate", float, "Adam, for the new head or a scratch network", minimum=0, exclusive_minimum=True),
    Option("fine_tune_learning_rate", float, "lower so the pretrained filters are not destroyed",
           minimum=0, exclusive_minimum=True),
    Option("augment", str, "random flips, turns, zooms and colour changes, on training batches only",
           choices=AUGMENT_PRESETS),
    Option("dropout", float, "share of pooled features dropped before the dense softmax layer",
           minimum=0, maximum=1, exclusive_maximum=True),
    Option("l2", float, "weight decay on the dense head (and scratch convolutions)", minimum=0),
    Option("patience", int, "early stopping on validation loss; the best epoch's weights are kept", minimum=0),
    Option("folds", int, "k of stratified k-fold; 0 skips cross-validation", minimum=0, maximum=10, excluded=(1,)),
    Option("kfold_epochs", int, "epochs per fold; 0 picks a cheap default (see validation.py)", minimum=0),
    Option("val_fraction", float, "share of the training pool kept for early stopping",
           minimum=0, maximum=0.5, exclusive_minimum=True, exclusive_maximum=True),
    Option("test_fraction", float, "share held out for the test when the data has no split column",
           minimum=0, maximum=0.5, exclusive_minimum=True, exclusive_maximum=True),
    Option("tta", bool, "test-time augmentation: average each prediction with its mirror image"),
    Option("seed", int, "seed of the split, the initial weights and the augmentation", minimum=0, maximum=MAX_SEED),
    Option("scratch_filters", int, "filters of each conv block of the scratch CNN", minimum=1, many=True),
    Option("prune", float, "target sparsity of magnitude pruning (e.g. 0.5); 0 or none skips pruning",
           minimum=0, maximum=1, exclusive_maximum=True, nullable=True),
    Option("quantize", str, "quantized variants to write: int8 and/or float16", choices=QUANTIZE_CHOICES, many=True),
)
OPTIONS_BY_NAME = MappingProxyType({option.name: option for option in OPTIONS})

DEFAULT_SETS = MappingProxyType({
    # What the engine does on its own: `python -m ml train` and TrainConfig().
    "engine": MappingProxyType({
        # EfficientNet-Lite0's ImageNet weights ship in a pip package: a fresh install trains from them offline.
        "mode": "full", "backbone": "efficientnet_lite0", "alpha": 0.25, "weights": "imagenet", "image_size": 224,
        "batch_size": 32,
        "epochs": 10, "fine_tune_epochs": 5, "fine_tune_layers": 20, "learning_rate": 1e-3,
        "fine_tune_learning_rate": 1e-4, "augment": "light", "dropout": 0.3, "l2": 1e-4, "patience": 4, "folds": 5,
        "kfold_epochs": 0, "val_fraction": 0.15, "test_fraction": 0.15, "tta": False, "seed": 42,
        "scratch_filters": (32, 64, 128, 256), "prune": None, "quantize": (),
    }),
    # What the platform offers a teacher (form, API, admin, manage.py train): the options named here,
    # with values that train on a classroom CPU in a few minutes and beat training from scratch.
    "classroom": MappingProxyType({
        "mode": "full",  # "quick" answers in seconds; the automatic retrain after labeling always uses it
        # The most accurate registry network that meets the classroom's speed targets
        # (bench/results/backbone_bench.md); its weights come with pip, nothing to copy or download.
        "backbone": "efficientnet_lite0",
        "alpha": 0.25,  # MobileNet's width, for projects that keep it (EfficientNet-Lite ignores it)
        "weights": "imagenet",
        "image_size": 224,  # the ImageNet weights were trained at 224 px: clearly better than 160 on small classes
        "epochs": 8,
        "fine_tune_epochs": 3,
        "augment": "light",
        "dropout": 0.3,
        "folds": 5,
        "prune": 0.5,
        "quantize": ["int8", "float16"],  # the server answers with int8, the browser page can take either
        "seed": 42,
    }),
})


def defaults(name: str) -> dict:
    """Return a fresh copy of a default set ("engine" or "classroom")."""
    return copy.deepcopy(dict(DEFAULT_SETS[name]))


def options_of(name: str) -> tuple:
    """Return the options a default set offers, in definition order."""
    return tuple(option for option in OPTIONS if option.name in DEFAULT_SETS[name])


def add_option_arguments(parser: argparse.ArgumentParser, options, default_set, *, absent_when_unset=False) -> None:
    """Add one flag per option, its choices and range from the definition and its default from a default set.

    With ``absent_when_unset`` a flag that is not given leaves no attribute at all (its help still
    names the set's default), so a caller can tell "not given" apart from any value, None included.
    """
    for option in options:
        shown = default_set[option.name]
        shown = ",".join(map(str, shown)) if option.many else shown
        default = argparse.SUPPRESS if absent_when_unset else default_set[option.name]
        accepts = "" if option.kind is bool else option.rule().removeprefix(option.label + " ") + "; "
        help_text = f"{option.help} ({accepts}default: {shown})"
        help_text = help_text.replace("%", "%%")  # argparse formats help with %
        if option.kind is bool:
            parser.add_argument(option.flag, action="store_true", default=default, help=help_text)
        elif option.choices and not option.many:
            parser.add_argument(option.flag, type=option.kind, choices=option.choices, default=default, help=help_text)
        else:
            parser.add_argument(option.flag, type=_argument_type(option), default=default, help=help_text,
                                metavar=option.name.upper())


def _argument_type(option: Option):
    def parse(text: str):
        try:
            return option.parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = option.name
    return parse


_ENGINE = DEFAULT_SETS["engine"]


@dataclass(frozen=True)
class TrainConfig:
    """Every hyperparameter of one training run (``OPTIONS`` says what each is for); rebuilt from the card."""

    mode: str = _ENGINE["mode"]
    backbone: str = _ENGINE["backbone"]
    alpha: float = _ENGINE["alpha"]
    weights: str = _ENGINE["weights"]
    image_size: int = _ENGINE["image_size"]
    batch_size: int = _ENGINE["batch_size"]
    epochs: int = _ENGINE["epochs"]
    fine_tune_epochs: int = _ENGINE["fine_tune_epochs"]
    fine_tune_layers: int = _ENGINE["fine_tune_layers"]
    learning_rate: float = _ENGINE["learning_rate"]
    fine_tune_learning_rate: float = _ENGINE["fine_tune_learning_rate"]
    augment: str = _ENGINE["augment"]
    dropout: float = _ENGINE["dropout"]
    l2: float = _ENGINE["l2"]
    patience: int = _ENGINE["patience"]
    folds: int = _ENGINE["folds"]
    kfold_epochs: int = _ENGINE["kfold_epochs"]
    val_fraction: float = _ENGINE["val_fraction"]
    test_fraction: float = _ENGINE["test_fraction"]
    tta: bool = _ENGINE["tta"]
    seed: int = _ENGINE["seed"]
    scratch_filters: tuple = _ENGINE["scratch_filters"]
    prune: float | None = _ENGINE["prune"]
    quantize: tuple = _ENGINE["quantize"]

    def __post_init__(self) -> None:
        for option in OPTIONS:
            reason = option.problem(getattr(self, option.name))
            if reason:
                raise ConfigError(CONFIG_INVALID.format(reason=reason))

    @property
    def pretrained(self) -> bool:
        return backbones.spec(self.backbone).pretrained and self.weights != "none"

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        for option in OPTIONS:
            if option.many:
                data[option.name] = list(data[option.name])
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        values = {k: v for k, v in data.items() if k in OPTIONS_BY_NAME}
        for name, value in values.items():
            if OPTIONS_BY_NAME[name].many:
                values[name] = tuple(value or ())
        return cls(**values)

    def replace(self, **changes) -> "TrainConfig":
        return dataclasses.replace(self, **changes)
