"""The project's autoencoder: built once from its photos in the background, copied into every version that lacks one.

An autoencoder never reads a label, so one trained on the project's photos serves every version,
quick or full, whatever its classifier (``ml.shared_autoencoder``). The rules:

- **Photos**: the project's visible photos outside the sealed test share, labeled or not (so a
  test photo stays new to every model); a sample of at most ``ml.shared_autoencoder.MAX_IMAGES``.
- **When**: a build is requested when a version lacks ``autoencoder.onnx`` and the project has no
  autoencoder yet (after a quick version is published, by the generative lab, by
  ``manage.py autoencoder_backfill``), and again once the photos have grown since the last build by
  ``REBUILD_GROWTH`` and at least ``REBUILD_MIN_NEW`` photos.
- **One at a time**: the request moves the project's row from idle to queued with one conditional
  update, so a burst of requests queues one build; the build (queue ``training``, where TensorFlow
  already runs) moves it to building and back. A build that has not finished after
  ``STALE_BUILD_AFTER`` is taken as lost with its worker; its late result, if any, is discarded.
- **Copies**: a quick version published while an autoencoder exists gets the file (and its card
  section) at publish time, a copy; when a build finishes, every version still without the file gets
  it (``version_autoencoder_add``: the file, the card's section and ``files`` entry, nothing else).
"""
from __future__ import annotations

import json
import logging
import math
import posixpath
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.common.exceptions import ApplicationError, ConflictError
from apps.training.artifacts import (
    artifact_add,
    artifact_replace,
    artifacts_delete,
    artifacts_upload,
    folder_local_dir,
)
from apps.training.models import ModelVersion, ProjectAutoencoder, TrainingRun
from apps.uploads.splits import TEST
from ml.card import CARD_FILE
from ml.runtime import AUTOENCODER_FILE
from ml.shared_autoencoder import MAX_IMAGES, MIN_IMAGES, SECTION_FILE, card_with_autoencoder

logger = logging.getLogger(__name__)

REBUILD_GROWTH = 1.25  # rebuilt once the project has a quarter more photos than when it was built ...
REBUILD_MIN_NEW = 20  # ... and at least this many more (a handful of new photos changes nothing)
STALE_BUILD_AFTER = timedelta(minutes=30)  # a build takes a minute or two: after this its worker is gone
SAMPLE_SEED = 0

NO_PHOTOS = _("This project has no photos yet, and the autoencoder learns from them. Upload some photos and try again.")
TOO_FEW_PHOTOS = _(
    "The autoencoder learns from the project's photos and needs at least %(minimum)d; the project has %(count)d "
    "(the sealed test photos do not count). Upload more photos and try again."
)
AUTOENCODER_BEING_BUILT = _(
    "This version has no autoencoder yet: only full retrainings train their own. It is being trained now on the "
    "project's photos, in the background; try again in a minute or two."
)


def project_autoencoder_photos(project):
    """Return the photos an autoencoder of the project learns from: visible ones outside the sealed test share."""
    return project.images.filter(hidden=False).exclude(split=TEST)


def project_autoencoder_get(*, project) -> ProjectAutoencoder | None:
    return ProjectAutoencoder.objects.filter(project=project).first()


def project_autoencoder_local_dir(*, project) -> Path | None:
    """Return a local folder with the project's autoencoder (``ml.shared_autoencoder``'s), or None before the first build."""
    row = project_autoencoder_get(project=project)
    if row is None or not row.ready:
        return None
    files = {name: None for name in (AUTOENCODER_FILE, SECTION_FILE)}
    return folder_local_dir(prefix=row.artifact_dir, files=files,
                            name=f"autoencoder-{project.pk}-{Path(row.artifact_dir).name}")


def rebuild_due(row: ProjectAutoencoder | None, photos: int) -> bool:
    """Whether a project with ``photos`` photos needs a (new) build: none yet, or grown enough since."""
    if row is None or not row.ready:
        return True
    grown = photos >= math.ceil(row.photos * REBUILD_GROWTH) and photos - row.photos >= REBUILD_MIN_NEW
    return bool(grown)


def _check_photos(count: int) -> None:
    if count == 0:
        raise ApplicationError(NO_PHOTOS)
    if count < MIN_IMAGES:
        raise ApplicationError(TOO_FEW_PHOTOS % {"minimum": MIN_IMAGES, "count": count})


def _row(project) -> ProjectAutoencoder:
    try:
        with transaction.atomic():
            row, _created = ProjectAutoencoder.objects.get_or_create(project=project)
    except IntegrityError:  # created by a request at the same moment
        row = ProjectAutoencoder.objects.get(project=project)
    return row


def project_autoencoder_request(*, project, send: bool = True) -> ProjectAutoencoder:
    """Queue a build of the project's autoencoder unless one is queued or building; return the project's row.

    Raises ApplicationError when the project has too few photos. ``send=False`` queues without
    telling the broker (a command that builds in its own process).
    """
    _check_photos(project_autoencoder_photos(project).count())
    row = _row(project)
    now = timezone.now()
    idle_or_lost = Q(status=ProjectAutoencoder.Status.IDLE) | Q(
        status=ProjectAutoencoder.Status.BUILDING, started_at__lt=now - STALE_BUILD_AFTER
    )
    with transaction.atomic():
        claimed = ProjectAutoencoder.objects.filter(idle_or_lost, pk=row.pk).update(
            status=ProjectAutoencoder.Status.QUEUED, queued_at=now, started_at=None
        )
        if claimed and send:
            # robust: a broker that is down must not fail the request; the pending-work sweep resends it.
            transaction.on_commit(lambda: project_autoencoder_send(project_id=project.pk), robust=True)
    row.refresh_from_db()
    return row


def project_autoencoder_send(*, project_id: int) -> None:
    """Hand a queued build to the broker (queue ``training``, by its task's route)."""
    from apps.training.tasks import project_autoencoder_build_task

    project_autoencoder_build_task.delay(project_id)


def pending_project_autoencoders(cutoff):
    """Return the project ids of builds queued before ``cutoff`` (the pending-work sweep sends them again).

    While a full run trains, a queued build may simply be waiting behind it on the same queue.
    """
    if TrainingRun.objects.filter(mode=TrainingRun.Mode.FULL, status=TrainingRun.Status.RUNNING).exists():
        return ProjectAutoencoder.objects.none().values_list("project_id", flat=True)
    queued = ProjectAutoencoder.objects.filter(status=ProjectAutoencoder.Status.QUEUED, queued_at__lt=cutoff)
    return queued.order_by("project_id").values_list("project_id", flat=True)


def _sample(project) -> list:
    import numpy as np

    ids = list(project_autoencoder_photos(project).order_by("pk").values_list("pk", flat=True))
    if len(ids) > MAX_IMAGES:
        ids = sorted(np.random.default_rng(SAMPLE_SEED).choice(ids, MAX_IMAGES, replace=False).tolist())
    return list(project.images.filter(pk__in=ids).order_by("pk"))


def _pixels(images):
    import numpy as np

    from apps.embeddings.services import image_pixels
    from ml.shared_autoencoder import IMAGE_SIZE

    rows = []
    for image in images:
        try:
            rows.append(image_pixels(image, IMAGE_SIZE))
        except Exception:  # an unreadable photo is reported where it was uploaded; it is simply left out
            logger.warning("autoencoder: photo %s cannot be read", image.pk, exc_info=True)
    return np.stack(rows) if rows else np.zeros((0, IMAGE_SIZE, IMAGE_SIZE, 3), np.float32)


def project_autoencoder_build(*, project_id: int) -> ProjectAutoencoder | None:
    """Build the queued autoencoder of a project, store it and copy it into the versions that lack one.

    Returns the row, or None when no build was queued (a duplicate message, or another worker took it).
    """
    from ml import shared_autoencoder

    started = timezone.now()
    claimed = ProjectAutoencoder.objects.filter(project_id=project_id, status=ProjectAutoencoder.Status.QUEUED).update(
        status=ProjectAutoencoder.Status.BUILDING, started_at=started, error_message=""
    )
    if not claimed:
        return None
    row = ProjectAutoencoder.objects.select_related("project").get(project_id=project_id)
    project = row.project
    mine = ProjectAutoencoder.objects.filter(pk=row.pk, status=ProjectAutoencoder.Status.BUILDING, started_at=started)
    scratch = Path(tempfile.mkdtemp(prefix=f"riim-autoencoder-{project.pk}-"))
    prefix, files = "", {}
    try:
        photos = project_autoencoder_photos(project).count()
        _check_photos(photos)
        pixels = _pixels(_sample(project))
        if len(pixels) < MIN_IMAGES:
            raise ApplicationError(TOO_FEW_PHOTOS % {"minimum": MIN_IMAGES, "count": len(pixels)})
        section = shared_autoencoder.build(pixels, scratch / "autoencoder", seed=SAMPLE_SEED)
        prefix = posixpath.join(settings.RIIM_MODELS_PREFIX, project.slug, f"autoencoder-{uuid.uuid4().hex}")
        files = artifacts_upload(local_dir=scratch / "autoencoder", prefix=prefix)
    except Exception as exc:  # the row says why; the worker stays healthy
        if isinstance(exc, ApplicationError):
            message = str(exc.message)
        else:
            logger.exception("autoencoder of project %s failed", project.pk)
            message = f"{type(exc).__name__}: {exc}"[:2000]
        if files:
            artifacts_delete(prefix=prefix, files=files)
        mine.update(status=ProjectAutoencoder.Status.IDLE, error_message=message)
        row.refresh_from_db()
        return row
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    previous = row.artifact_dir
    stored = mine.update(status=ProjectAutoencoder.Status.IDLE, artifact_dir=prefix, section=section, photos=photos,
                         built_at=timezone.now(), error_message="")
    if not stored:  # taken as lost meanwhile and queued again: this late result is not used
        artifacts_delete(prefix=prefix, files=files)
        row.refresh_from_db()
        return row
    if previous:  # versions hold copies of their own: the previous build is no longer read
        artifacts_delete(prefix=previous, files=(AUTOENCODER_FILE, SECTION_FILE))
    row.refresh_from_db()
    project_autoencoder_backfill(project=project)
    return row


def project_autoencoder_backfill(*, project) -> list[int]:
    """Copy the project's autoencoder into each of its versions that lacks one; return their numbers."""
    row = project_autoencoder_get(project=project)
    if row is None or not row.ready:
        return []
    added = []
    for version in project.model_versions.exclude(status=ModelVersion.Status.FAILED).order_by("number"):
        if AUTOENCODER_FILE not in version.files and version_autoencoder_add(version=version, autoencoder=row):
            added.append(version.number)
    return added


def version_autoencoder_add(*, version: ModelVersion, autoencoder: ProjectAutoencoder) -> bool:
    """Add the project's autoencoder to a version without one: the file, the card's section and its files entry.

    Nothing else of the version changes. Returns False when the version already has one.
    """
    with transaction.atomic():
        version = ModelVersion.objects.select_for_update().get(pk=version.pk)
        if AUTOENCODER_FILE in version.files:
            return False
        section = autoencoder.section
        card_name = posixpath.join(version.artifact_dir, CARD_FILE)
        try:
            with default_storage.open(card_name, "rb") as fh:
                stored_card = json.loads(fh.read().decode("utf-8"))
        except (OSError, ValueError):  # a card that cannot be read is written from the row's copy
            stored_card = version.metadata
        size = artifact_add(name=posixpath.join(version.artifact_dir, AUTOENCODER_FILE),
                            source=posixpath.join(autoencoder.artifact_dir, AUTOENCODER_FILE))
        card_bytes = json.dumps(card_with_autoencoder(stored_card, section), indent=2).encode()
        artifact_replace(name=card_name, content=card_bytes)
        files = {**version.files, AUTOENCODER_FILE: size, CARD_FILE: len(card_bytes)}
        ModelVersion.objects.filter(pk=version.pk).update(
            files=files, metadata=card_with_autoencoder(version.metadata, section)
        )
    logger.info("version %s: autoencoder added from the project's", version.pk)
    return True


def project_autoencoder_after_publish(*, version: ModelVersion) -> None:
    """After a version is published: copy the autoencoder in if one was built meanwhile; queue a build when due.

    Never fails the publication: a project with too few photos simply waits for more.
    """
    project = version.project
    row = project_autoencoder_get(project=project)
    if row is not None and row.ready and AUTOENCODER_FILE not in version.files:
        version_autoencoder_add(version=version, autoencoder=row)
    if rebuild_due(row, project_autoencoder_photos(project).count()):
        try:
            project_autoencoder_request(project=project)
        except ApplicationError as exc:
            logger.info("project %s: no autoencoder yet (%s)", project.pk, exc.message)


def version_autoencoder_ensure(*, version: ModelVersion) -> ModelVersion:
    """Return the version with its autoencoder, copying the project's in when it exists.

    Otherwise queue the build (or find it queued) and raise ConflictError saying so, or ApplicationError
    saying why no build can start (too few photos): the generative lab's answer.
    """
    if AUTOENCODER_FILE in version.files:
        return version
    row = project_autoencoder_get(project=version.project)
    if row is not None and row.ready:
        version_autoencoder_add(version=version, autoencoder=row)
        version.refresh_from_db()
        return version
    project_autoencoder_request(project=version.project)
    raise ConflictError(AUTOENCODER_BEING_BUILT)


@dataclass(frozen=True)
class AutoencoderState:
    """What the generative lab says about a version's autoencoder."""

    present: bool  # the version has the file
    project_ready: bool  # the project's is built: a version without one gets a copy when asked
    building: bool  # a build is queued or running
    since: datetime | None  # when that build was queued
    error: str  # why the last build failed, if it did
    photos: int  # the photos an autoencoder would learn from
    minimum: int = MIN_IMAGES


def version_autoencoder_state(*, version: ModelVersion) -> AutoencoderState:
    row = project_autoencoder_get(project=version.project)
    building = row is not None and row.status != ProjectAutoencoder.Status.IDLE
    return AutoencoderState(
        present=AUTOENCODER_FILE in version.files,
        project_ready=bool(row and row.ready),
        building=building,
        since=row.queued_at if building else None,
        error=row.error_message if row else "",
        photos=project_autoencoder_photos(version.project).count(),
    )
