"""Validate a retraining configuration coming from a user (form, API, admin, command)."""
import re
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

# Defaults that work on a classroom CPU in a few minutes and do better than training from scratch.
DEFAULT_CONFIG = {
    "backbone": "mobilenet",
    "alpha": 0.25,
    "weights": "imagenet",
    "image_size": 224,  # the ImageNet weights were trained at 224 px: clearly better than 160 on small classes
    "epochs": 8,
    "fine_tune_epochs": 3,
    "augment": "light",
    "dropout": 0.3,
    "folds": 5,
    "prune": 0.5,
    "quantize": ["int8", "float16"],
    "seed": 42,
}
QUANTIZE_CHOICES = ("int8", "float16")
WEIGHT_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,200}$")
WEIGHTS_NOT_A_NAME = _("“weights” must be “imagenet”, “none” or the name of a file in the weights folder, not a path.")
WEIGHTS_NOT_FOUND = _("There is no weights file called “%(name)s” in the weights folder.")
UNKNOWN_KEYS = _("Unknown configuration keys: %(keys)s.")


class TrainingConfigSerializer(serializers.Serializer):
    backbone = serializers.ChoiceField(choices=["scratch", "mobilenet", "mobilenet_v2"])
    alpha = serializers.ChoiceField(choices=[0.25, 0.35, 0.5, 0.75, 1.0, 1.3, 1.4])
    weights = serializers.CharField(max_length=200)
    image_size = serializers.IntegerField(min_value=32, max_value=512)
    epochs = serializers.IntegerField(min_value=1, max_value=200)
    fine_tune_epochs = serializers.IntegerField(min_value=0, max_value=200)
    augment = serializers.ChoiceField(choices=["none", "light", "strong"])
    dropout = serializers.FloatField(min_value=0.0, max_value=0.9)
    folds = serializers.IntegerField(min_value=0, max_value=10)
    prune = serializers.FloatField(min_value=0.0, max_value=0.95, allow_null=True)
    quantize = serializers.ListField(child=serializers.ChoiceField(choices=QUANTIZE_CHOICES), allow_empty=True)
    seed = serializers.IntegerField(min_value=0, max_value=2**31 - 1)

    def validate_folds(self, value):
        if value == 1:
            raise serializers.ValidationError(_("Use 0 to skip cross-validation, or at least 2 folds."))
        return value

    def validate_weights(self, value):
        if value in ("imagenet", "none"):
            return value
        # Never a path from a user: only a bare file name, resolved inside RIIM_WEIGHTS_DIR.
        if not WEIGHT_NAME_RE.match(value) or ".." in value:
            raise serializers.ValidationError(WEIGHTS_NOT_A_NAME)
        if not (Path(settings.RIIM_WEIGHTS_DIR) / value).is_file():
            raise serializers.ValidationError(WEIGHTS_NOT_FOUND % {"name": value})
        return value


def training_config_clean(data) -> dict:
    """Return the full config (defaults + overrides) or raise serializers.ValidationError."""
    data = data or {}
    if not isinstance(data, dict):
        raise serializers.ValidationError({"config": [_("The configuration must be a JSON object.")]})
    unknown = sorted(set(data) - set(DEFAULT_CONFIG))
    if unknown:
        raise serializers.ValidationError({"config": [UNKNOWN_KEYS % {"keys": ", ".join(unknown)}]})
    serializer = TrainingConfigSerializer(data={**DEFAULT_CONFIG, **data})
    serializer.is_valid(raise_exception=True)
    config = dict(serializer.validated_data)
    config["quantize"] = sorted(set(config["quantize"]))
    return config
