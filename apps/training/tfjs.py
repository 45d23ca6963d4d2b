"""A version's TF.js export (Teachable Machine's format): whether it has one, and the files as one zip."""
import io
import posixpath
import zipfile

from django.core.files.storage import default_storage
from django.utils.translation import gettext_lazy as _

from apps.common.exceptions import NotFoundError
from ml.runtime import TFJS_FILES

NO_TFJS = _(
    "This version has no TensorFlow.js files: it was imported (ONNX only) or trained before RIIM exported "
    "TensorFlow.js. Train a new version to get them."
)
ZIP_FOLDER = "my-model"  # the folder name the Teachable Machine examples (and docs/tm-example) load from


def version_has_tfjs(version) -> bool:
    """Return whether the version recorded every file of the TF.js export."""
    return all(name in version.files for name in TFJS_FILES.values())


def version_tfjs_zip(*, version) -> bytes:
    """Return model.json, weights.bin and metadata.json in one zip under ``my-model/``; NotFoundError without them."""
    if not version_has_tfjs(version):
        raise NotFoundError(NO_TFJS)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in TFJS_FILES.values():
            with default_storage.open(posixpath.join(version.artifact_dir, name), "rb") as handle:
                archive.writestr(posixpath.join(ZIP_FOLDER, posixpath.basename(name)), handle.read())
    return buffer.getvalue()
