"""Reads of the public model link: the link of a project, and the file a public address asks for."""
import hashlib
import json
import posixpath
from dataclasses import dataclass
from pathlib import PurePosixPath

from django.core.files.storage import default_storage
from django.utils.translation import gettext_lazy as _

from apps.common.exceptions import ConflictError, NotFoundError
from apps.sharing.models import ModelLink
from apps.training.selectors import model_version_active
from apps.training.tfjs import NO_TFJS, version_has_tfjs
from ml.runtime import MODEL_FILE, TFJS_FILES

LINK_NOT_FOUND = _("This model link does not exist or the teacher has withdrawn it.")
PROJECT_LINK_NOT_FOUND = _("This project has no public model link.")
NO_ACTIVE_MODEL = _("The class has no model yet: its teacher has not activated any version.")
FILE_NOT_SERVED = _("A model link serves only model.json, metadata.json, weights.bin and model.onnx.")
FILE_GONE = _("The file %(name)s of the active version is missing from storage: ask the teacher to train again.")

METADATA_NAME = PurePosixPath(TFJS_FILES["tfjs_metadata"]).name
# Public name -> the version's file. TF.js resolves the weights' paths of model.json against the address
# of model.json itself, so the three TF.js files sit side by side under the link, as Teachable Machine's do.
TFJS_NAMES = {PurePosixPath(name).name: name for name in TFJS_FILES.values()}
# The ONNX copy, for a runtime other than TF.js. Nothing else of a version folder (card, photos'
# statistics, the detector) is ever served through a link.
LINK_FILES = {**TFJS_NAMES, PurePosixPath(MODEL_FILE).name: MODEL_FILE}
CONTENT_TYPES = {".json": "application/json", ".bin": "application/octet-stream", ".onnx": "application/octet-stream"}


@dataclass(frozen=True)
class LinkFile:
    """One file a link serves: its bytes (JSON documents) or the storage path to stream, and its ETag."""

    name: str
    content_type: str
    etag: str
    content: bytes | None = None
    storage_path: str | None = None


def model_link_of_project(*, project) -> ModelLink:
    """Return the project's link, or NotFoundError when it has none."""
    link = ModelLink.objects.filter(project=project).first()
    if link is None:
        raise NotFoundError(PROJECT_LINK_NOT_FOUND)
    return link


def _activation_stamp(version) -> str:
    # Every activation (rolling back included) sets activated_at, so tools that reload only when
    # metadata.timeStamp changes reload on each one.
    moment = version.activated_at or version.created_at
    return moment.isoformat(timespec="milliseconds")


def _etag(version, name: str, stamp: str) -> str:
    digest = hashlib.sha256(f"{version.artifact_dir}|{name}|{stamp}".encode()).hexdigest()[:32]
    return f'"{digest}"'


def _metadata_with_stamp(version, stored_path: str, stamp: str) -> bytes:
    """Return the version's metadata.json with timeStamp set to when the version was activated."""
    try:
        with default_storage.open(stored_path, "rb") as handle:
            metadata = json.loads(handle.read().decode("utf-8"))
    except FileNotFoundError as exc:
        raise ConflictError(FILE_GONE % {"name": METADATA_NAME}) from exc
    metadata["timeStamp"] = stamp
    return json.dumps(metadata, ensure_ascii=False).encode("utf-8")


def model_link_file(*, token: str, name: str) -> LinkFile:
    """Return the file ``name`` of the active version of the project whose link has ``token``.

    NotFoundError names why not: an unknown or withdrawn link, a project without an active version, a
    version without the TF.js export, or a name the link does not serve.
    """
    link = ModelLink.objects.select_related("project").filter(token=token).first()
    if link is None:
        raise NotFoundError(LINK_NOT_FOUND)
    if name not in LINK_FILES:
        raise NotFoundError(FILE_NOT_SERVED)
    version = model_version_active(project=link.project)
    if version is None:
        raise NotFoundError(NO_ACTIVE_MODEL)
    if name in TFJS_NAMES and not version_has_tfjs(version):
        raise NotFoundError(NO_TFJS)
    relative = LINK_FILES[name]
    if relative not in version.files:
        raise NotFoundError(FILE_GONE % {"name": name})
    stamp = _activation_stamp(version)
    stored_path = posixpath.join(version.artifact_dir, relative)
    content_type = CONTENT_TYPES[PurePosixPath(name).suffix]
    etag = _etag(version, name, stamp)
    if name == METADATA_NAME:
        return LinkFile(name, content_type, etag, content=_metadata_with_stamp(version, stored_path, stamp))
    return LinkFile(name, content_type, etag, storage_path=stored_path)
