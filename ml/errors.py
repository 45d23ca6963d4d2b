"""Errors raised by the ML engine, with their user-facing messages as constants."""

DATA_NOT_FOUND = "Data source not found: {path}"
DATA_UNSUPPORTED = "Unsupported data source (expected a folder, .csv or .json manifest): {path}"
DATA_MANIFEST_INVALID = "Invalid manifest {path}: {reason}"
DATA_TOO_FEW_CLASSES = "At least two classes with images are needed, found {count}"
DATA_TOO_FEW_IMAGES = "Class '{label}' has {count} readable image(s) in '{split}'; at least {minimum} needed"
DATA_NO_IMAGES = "No readable images in {path}"
DATA_UNKNOWN_LABELS = "Labels not known to the model: {labels}"
IMAGE_UNREADABLE = "Cannot read image {path}: {reason}"
WEIGHTS_OUTSIDE_DIR = "Weights must be a file name inside RIIM_WEIGHTS_DIR, not a path outside it: {name}"
WEIGHTS_BAD_NAME = "Invalid weights name: {name}"
CONFIG_INVALID = "Invalid configuration: {reason}"
MODEL_NOT_FOUND = "Model file not found: {path}"
MODEL_UNSUPPORTED = "Unsupported model file (expected .keras or .h5 with card.json beside it): {path}"
CARD_NOT_FOUND = "Model card not found beside the model: {path}"


class MLError(Exception):
    """Base class for errors the engine reports to users as one line."""


class DataError(MLError):
    """The data source cannot be read or is unusable for training."""


class WeightsError(MLError):
    """The requested weights are not allowed or cannot be loaded."""


class ConfigError(MLError):
    """A configuration value is out of range."""


class ModelError(MLError):
    """A model file or its card cannot be loaded."""
