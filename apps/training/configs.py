"""Validate a retraining configuration coming from a user (form, API, admin, command).

The options, their ranges and choices and the defaults are ``ml.config``'s (the ``classroom``
default set names the options the platform offers); this module builds the serializer's fields
(and the validators the form shares) from them and adds what only the platform knows: the
weights folder, translated messages and the shape of a refusal.
"""
import re
from pathlib import Path

from django.conf import settings
from django.core import validators
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from apps.common.exceptions import ApplicationError
from ml.config import defaults, options_of

DEFAULT_CONFIG = defaults("classroom")
CLASSROOM_OPTIONS = options_of("classroom")
WEIGHT_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,200}$")
WEIGHTS_NOT_A_NAME = _("“weights” must be “imagenet”, “none” or the name of a file in the weights folder, not a path.")
WEIGHTS_NOT_FOUND = _("There is no weights file called “%(name)s” in the weights folder.")
UNKNOWN_KEYS = _("Unknown configuration keys: %(keys)s.")
NOT_AN_OBJECT = _("The configuration must be a JSON object.")
CONFIG_INVALID = _("The training configuration has invalid values: %(fields)s.")
ABOVE_EXCLUSIVE_MINIMUM = _("Ensure this value is greater than %(limit_value)s.")
BELOW_EXCLUSIVE_MAXIMUM = _("Ensure this value is less than %(limit_value)s.")
VALUE_EXCLUDED = _("%(value)s is not allowed here.")
CHOICE_INVALID = _("“{input}” is not one of the valid values: %(choices)s.")
# What to say instead when a value inside the range is still refused.
EXCLUDED_MESSAGES = {"folds": _("Use 0 to skip cross-validation, or at least 2 folds.")}


@deconstructible
class ExclusiveMinValueValidator(validators.MinValueValidator):
    message = ABOVE_EXCLUSIVE_MINIMUM

    def compare(self, a, b):
        return a <= b


@deconstructible
class ExclusiveMaxValueValidator(validators.MaxValueValidator):
    message = BELOW_EXCLUSIVE_MAXIMUM

    def compare(self, a, b):
        return a >= b


@deconstructible
class ExcludedValuesValidator:
    """Refuse the listed values (a range's holes, e.g. one fold)."""

    def __init__(self, excluded, message=VALUE_EXCLUDED):
        self.excluded, self.message = tuple(excluded), message

    def __call__(self, value):
        if value in self.excluded:
            raise validators.ValidationError(self.message, code="excluded", params={"value": value})

    def __eq__(self, other):
        return isinstance(other, ExcludedValuesValidator) and (self.excluded, self.message) == (other.excluded, other.message)


def option_bounds(option) -> dict:
    """Return the inclusive bounds as min_value/max_value (the fields' own, shown in HTML) and the rest as validators."""
    bounds, extra = {}, []
    if option.minimum is not None:
        if option.exclusive_minimum:
            extra.append(ExclusiveMinValueValidator(option.minimum))
        else:
            bounds["min_value"] = option.minimum
    if option.maximum is not None:
        if option.exclusive_maximum:
            extra.append(ExclusiveMaxValueValidator(option.maximum))
        else:
            bounds["max_value"] = option.maximum
    if option.excluded:
        extra.append(ExcludedValuesValidator(option.excluded, EXCLUDED_MESSAGES.get(option.name, VALUE_EXCLUDED)))
    return {**bounds, "validators": extra}


def config_serializer_field(option) -> serializers.Field:
    """Return the DRF field that accepts exactly the values the option accepts."""
    if option.many and option.choices:
        return serializers.ListField(child=serializers.ChoiceField(choices=list(option.choices)), allow_empty=True)
    if option.choices:
        # The refusal lists the valid values, so a typo in "mode" or "backbone" is fixed at once.
        listed = ", ".join(str(choice) for choice in option.choices)
        return serializers.ChoiceField(
            choices=list(option.choices),
            error_messages={"invalid_choice": CHOICE_INVALID % {"choices": listed}},
        )
    if option.kind is bool:
        return serializers.BooleanField()
    if option.kind is int:
        return serializers.IntegerField(allow_null=option.nullable, **option_bounds(option))
    if option.kind is float:
        return serializers.FloatField(allow_null=option.nullable, **option_bounds(option))
    if option.kind is str and not option.many:
        return serializers.CharField(max_length=option.max_length)
    raise TypeError(f"no serializer field for the option {option.name}")


class TrainingConfigSerializer(serializers.Serializer):
    """Every option of the classroom set, with the ranges and choices of ml.config."""

    def get_fields(self):
        return {option.name: config_serializer_field(option) for option in CLASSROOM_OPTIONS}

    def validate_weights(self, value):
        if value in ("imagenet", "none"):
            return value
        # Never a path from a user: only a bare file name, resolved inside RIIM_WEIGHTS_DIR.
        if not WEIGHT_NAME_RE.match(value) or ".." in value:
            raise serializers.ValidationError(WEIGHTS_NOT_A_NAME)
        if not (Path(settings.RIIM_WEIGHTS_DIR) / value).is_file():
            raise serializers.ValidationError(WEIGHTS_NOT_FOUND % {"name": value})
        return value


def _plain(errors):
    """Turn DRF's error structure into plain JSON (strings, lists and string-keyed dicts)."""
    if isinstance(errors, dict):
        return {str(key): _plain(value) for key, value in errors.items()}
    if isinstance(errors, (list, tuple)):
        return [_plain(value) for value in errors]
    return str(errors)


def project_config_defaults(project=None) -> dict:
    """Return the classroom defaults, with the project's own network and input size when there is a project."""
    if project is None:
        return dict(DEFAULT_CONFIG)
    return {**DEFAULT_CONFIG, "backbone": project.backbone, "image_size": project.backbone_image_size}


def training_config_clean(data, project=None) -> dict:
    """Return the full config (the project's defaults, ``project_config_defaults``, + overrides).

    Raise ApplicationError whose ``extra`` maps each refused key (or ``config``) to its messages.
    """
    data = data or {}
    if not isinstance(data, dict):
        raise ApplicationError(NOT_AN_OBJECT, extra={"config": [str(NOT_AN_OBJECT)]})
    unknown = sorted(set(data) - set(DEFAULT_CONFIG))
    if unknown:
        message = UNKNOWN_KEYS % {"keys": ", ".join(unknown)}
        raise ApplicationError(message, extra={"config": [message]})
    serializer = TrainingConfigSerializer(data={**project_config_defaults(project), **data})
    if not serializer.is_valid():
        errors = _plain(serializer.errors)
        raise ApplicationError(CONFIG_INVALID % {"fields": ", ".join(errors)}, extra=errors)
    config = dict(serializer.validated_data)
    config["quantize"] = sorted(set(config["quantize"]))
    return config
