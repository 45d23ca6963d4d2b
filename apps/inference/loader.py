"""Keep one ONNX Runtime predictor per project and process; reload when the active version changes."""
import posixpath
import threading

from django.conf import settings
from django.core.files.storage import default_storage
from django.utils.translation import gettext_lazy as _

from apps.common.exceptions import ConflictError

NO_ACTIVE_MODEL = _("This project has no trained model yet. Ask your teacher to train one.")
MODEL_UNAVAILABLE = _("The active model cannot be loaded right now (%(problem)s). Your teacher has been told in the admin.")
REQUIRED_FILES = ("model.onnx", "card.json")

_lock = threading.Lock()
_cache: dict = {}  # project id -> (version id, predictor)


def version_health(version) -> str | None:
    """Return a short description of what is wrong with a version's files, or None."""
    for name in REQUIRED_FILES:
        if name not in version.files:
            return f"{name} was never written"
        if not default_storage.exists(posixpath.join(version.artifact_dir, name)):
            return f"{name} is missing from storage"
    return None


def _predictor_open(version):
    from ml.inference import Predictor

    from apps.training.artifacts import artifacts_local_dir

    variant = settings.RIIM_INFERENCE_VARIANT
    if variant == "int8" and "model.int8.onnx" not in version.files:
        variant = "fp32"
    return Predictor(artifacts_local_dir(version), variant=variant, intra_op_threads=settings.RIIM_INFERENCE_THREADS)


def predictor_for(version):
    """Return the cached predictor of a version, opening it on first use in this process."""
    with _lock:
        cached = _cache.get(version.project_id)
        if cached and cached[0] == version.pk:
            return cached[1]
    problem = version_health(version)
    if problem:
        raise ConflictError(MODEL_UNAVAILABLE % {"problem": problem})
    try:
        predictor = _predictor_open(version)
    except Exception as exc:  # corrupt file: a clear 409, never a 500
        raise ConflictError(MODEL_UNAVAILABLE % {"problem": type(exc).__name__}) from exc
    with _lock:
        _cache[version.project_id] = (version.pk, predictor)
    return predictor


def active_predictor(project):
    """Return (active version, predictor); the version is read from the database on every call."""
    from apps.training.selectors import model_version_active

    version = model_version_active(project=project)
    if version is None:
        raise ConflictError(NO_ACTIVE_MODEL)
    return version, predictor_for(version)


def cache_clear():
    with _lock:
        _cache.clear()
