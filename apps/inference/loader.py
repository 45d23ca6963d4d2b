"""Keep one ONNX Runtime predictor per project and process; reload when the active version changes."""
import logging
import posixpath
import threading

from django.conf import settings
from django.core.files.storage import default_storage
from django.utils.translation import gettext_lazy as _

from apps.common.exceptions import ConflictError
from ml.runtime import REQUIRED_FILES, VARIANT_FILES

NO_ACTIVE_MODEL = _("This project has no trained model yet. Ask your teacher to train one.")
MODEL_UNAVAILABLE = _("The active model cannot be loaded right now (%(problem)s). Your teacher has been told in the admin.")
VARIANTS = VARIANT_FILES  # RIIM_INFERENCE_VARIANT -> the file it serves
UNREAD = object()  # the caller has not read which version is active

logger = logging.getLogger(__name__)
_fallbacks_logged: set = set()
_lock = threading.Lock()
# project id -> ((version id, artifact folder, variant), version, predictor). The artifact folder is
# part of the key because a folder is written once: a different folder is a different model.
_cache: dict = {}


def version_health(version) -> str | None:
    """Return a short description of what is wrong with a version's files, or None."""
    for name in REQUIRED_FILES:
        if name not in version.files:
            return f"{name} was never written"
        if not default_storage.exists(posixpath.join(version.artifact_dir, name)):
            return f"{name} is missing from storage"
    return None


def variant_servable(version, variant: str) -> bool:
    """Whether a version's file of this variant may be served: fp32 always; int8 once judged not to lose accuracy."""
    if variant not in VARIANTS or VARIANTS[variant] not in version.files:
        return False
    return variant == "fp32" or bool((version.metrics.get("int8") or {}).get("servable"))


def served_variant(version) -> str:
    """Return the variant this process serves for a version: the setting, or fp32 (logged) when it cannot be."""
    variant = settings.RIIM_INFERENCE_VARIANT
    if variant != "fp32" and not variant_servable(version, variant):
        if (version.pk, variant) not in _fallbacks_logged:  # once per version and process, not per request
            _fallbacks_logged.add((version.pk, variant))
            logger.warning("version %s: %s is not servable (%s); serving fp32", version.pk, variant,
                           (version.metrics.get("int8") or {}).get("reason", "not exported"))
        return "fp32"
    return variant if variant in VARIANTS else "fp32"


def _predictor_open(version, variant):
    from apps.training.artifacts import artifacts_local_dir
    from ml.inference import Predictor

    # Threads are pinned: N web workers x 1 intra-op thread each never oversubscribe the cores.
    return Predictor(
        artifacts_local_dir(version),
        variant=variant,
        intra_op_threads=settings.RIIM_INFERENCE_THREADS,
        inter_op_threads=1,
    )


def predictor_for(version):
    """Return the cached predictor of a version, opening it on first use in this process."""
    key = (version.pk, version.artifact_dir, served_variant(version))
    with _lock:
        cached = _cache.get(version.project_id)
        if cached and cached[0] == key:
            return cached[2]
    problem = version_health(version)
    if problem:
        raise ConflictError(MODEL_UNAVAILABLE % {"problem": problem})
    try:
        predictor = _predictor_open(version, key[2])
    except Exception as exc:  # corrupt file: a clear 409, never a 500
        raise ConflictError(MODEL_UNAVAILABLE % {"problem": type(exc).__name__}) from exc
    with _lock:
        # Only the active version stays cached per project: an older version asked for once
        # (?version=N) is reopened on demand rather than evicting the active one for good.
        current = _cache.get(version.project_id)
        if current is None or version.status == "active" or current[0][0] == version.pk:
            _cache[version.project_id] = (key, version, predictor)
    return predictor


def active_predictor(project, *, active_version_id=UNREAD, active_version_dir: str | None = None):
    """Return (active version, predictor); which version is active is read from the database on every call.

    A caller that read the active version's id and folder along with the project
    (``analysis_project_get``) passes them: when this process serves that version, its cached row
    and predictor answer without another query.
    """
    from apps.training.selectors import model_version_active

    if active_version_id is None:
        raise ConflictError(NO_ACTIVE_MODEL)
    if active_version_id is not UNREAD:
        with _lock:
            cached = _cache.get(project.pk)
        if cached:
            key, version, predictor = cached
            if key == (active_version_id, active_version_dir, served_variant(version)):
                return version, predictor
    version = model_version_active(project=project)
    if version is None:
        raise ConflictError(NO_ACTIVE_MODEL)
    return version, predictor_for(version)


def cache_clear():
    """Forget every loaded predictor (tests; a deploy that swaps storage)."""
    with _lock:
        _cache.clear()
