"""The backbone the shared embeddings cache uses, and how pages name the registry's networks."""
from pathlib import Path

from django.conf import settings
from django.utils import formats
from django.utils.translation import gettext_lazy as _

from apps.common.exceptions import ApplicationError
from ml.config import defaults

NO_PRETRAINED_WEIGHTS = _(
    "No pretrained weights were available (%(reason)s). Ask the administrator to put the weights file in the "
    "weights folder (RIIM_WEIGHTS_DIR)."
)
# Why no weights were found, by the engine's reason key (``ml.weights.WeightsResolution.reason``).
MISSING_WEIGHTS_REASONS = {
    "file_missing": _("the file %(file)s is not in the weights folder"),
    "no_imagenet": _("this network has no ImageNet weights"),
    "not_found": _("%(file)s is neither in the weights folder (%(folder)s) nor in the Keras cache"),
    "no_folder": _("%(file)s is not in the Keras cache and no weights folder is set"),
    "package_missing": _("the Python package %(package)s that ships them is not installed"),
}
# How the project and training forms describe each registry network's speed (ml.backbones).
SPEED_LABELS = {"fast": _("fast"), "balanced": _("balanced"), "accurate": _("accurate")}


def backbone_label(name: str | None, alpha=None) -> str:
    """Name a registry network in the reader's language and number format ("MobileNet 0,25" in Spanish)."""
    from ml.backbones import display_name

    if name == "scratch":
        return str(_("CNN from scratch"))
    return display_name(name, alpha, number=formats.localize) if name else ""


def backbone_choice_label(name: str) -> str:
    """Name a network with its speed in plain words, for a form's choices ("EfficientNet-Lite0 (balanced)")."""
    from ml.backbones import spec

    return f"{backbone_label(name)} ({SPEED_LABELS[spec(name).speed]})"


def missing_weights_reason(exc) -> str:
    """Say in the active language why a backbone has no weights (the engine's English sentence for unknown reasons)."""
    resolution = getattr(exc, "resolution", None)
    message = MISSING_WEIGHTS_REASONS.get(getattr(resolution, "reason", ""))
    return str(message) % resolution.params if message is not None else str(exc)


def backbone_cache_dir() -> Path:
    """Return where each backbone's ONNX export is kept, one folder per fingerprint."""
    return Path(settings.RIIM_MODEL_CACHE_DIR) / "backbones"


def project_backbone(project):
    """Return the project's frozen network (``Project.backbone``); ApplicationError when its weights are missing."""
    return embedding_backbone(network=project.backbone, image_size=project.backbone_image_size)


def embedding_backbone(*, image_size: int | None = None, network: str | None = None, alpha: float | None = None):
    """Return the frozen backbone (``ml.embeddings.Backbone``); ApplicationError when its weights are missing."""
    from ml.embeddings import BackboneUnavailable, resolve_backbone

    classroom = defaults("classroom")
    try:
        return resolve_backbone(network or classroom["backbone"], alpha or classroom["alpha"],
                                image_size or classroom["image_size"], weights_dir=settings.RIIM_WEIGHTS_DIR)
    except BackboneUnavailable as exc:
        raise ApplicationError(NO_PRETRAINED_WEIGHTS % {"reason": missing_weights_reason(exc)}) from exc
