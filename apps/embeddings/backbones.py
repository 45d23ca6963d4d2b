"""The backbone the shared embeddings cache uses: the classroom network with the ImageNet weights."""
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from apps.common.exceptions import ApplicationError
from ml.config import defaults

NO_PRETRAINED_WEIGHTS = _(
    "No pretrained weights were available (%(reason)s). Ask the administrator to put the weights file in the "
    "weights folder (RIIM_WEIGHTS_DIR)."
)


def backbone_cache_dir() -> Path:
    """Return where each backbone's ONNX export is kept, one folder per fingerprint."""
    return Path(settings.RIIM_MODEL_CACHE_DIR) / "backbones"


def embedding_backbone(*, image_size: int | None = None, network: str | None = None, alpha: float | None = None):
    """Return the frozen backbone (``ml.embeddings.Backbone``); ApplicationError when its weights are missing."""
    from ml.embeddings import BackboneUnavailable, resolve_backbone

    classroom = defaults("classroom")
    try:
        return resolve_backbone(network or classroom["backbone"], alpha or classroom["alpha"],
                                image_size or classroom["image_size"], weights_dir=settings.RIIM_WEIGHTS_DIR)
    except BackboneUnavailable as exc:
        raise ApplicationError(NO_PRETRAINED_WEIGHTS % {"reason": str(exc)}) from exc
