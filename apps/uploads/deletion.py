"""Delete photos with every copy derived from them, all or nothing, and record who did it.

The one way photos leave the platform: the moderation page, the admin's action, a student's
"delete my data" and the retention task all call :func:`images_delete`.
"""
import logging
import posixpath
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from django.apps import apps as django_apps
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from apps.uploads.models import Image, ImageDeletion

logger = logging.getLogger(__name__)

# Copies of the files being deleted wait here until the rows are gone; nothing else is ever stored here.
TRASH_PREFIX = "deletion-trash"
# A deletion takes seconds; a trash copy this old was left by a cleanup that failed.
TRASH_MAX_AGE = 3600
# Keys of a lab result's entries that hold a picture (or a link to one) of the image named by "id".
_PICTURE_KEYS = ("thumb", "input", "reconstruction", "error_map")


@dataclass
class DeletionReport:
    """What one call removed: rows per kind and stored files."""

    record_id: int | None = None
    images: int = 0
    files: int = 0
    labels: int = 0
    analyses: int = 0
    embeddings: int = 0
    lab_results: int = 0
    image_ids: list = field(default_factory=list)

    def counts(self) -> dict:
        return {
            "images": self.images,
            "files": self.files,
            "labels": self.labels,
            "analyses": self.analyses,
            "embeddings": self.embeddings,
            "lab_results": self.lab_results,
        }


def images_delete(*, images, actor, reason: str = "") -> DeletionReport:
    """Delete the images and every derived copy, all or nothing; record who deleted what.

    Contract (moderation, the admin, data rights and retention all rely on it):

    - ``images``: a queryset or iterable of ``Image`` rows, possibly of several projects; an empty
      one deletes nothing and records nothing. ``actor``: the user who asked (None for a scheduled
      task such as retention). ``reason``: a short machine word kept in the record
      (``moderation``, ``admin``, ``student-request``, ``retention``...). Permission checks are
      the caller's: this function deletes what it is given.
    - Removed: each image's row, stored file and thumbnail; its labels (every author's); its
      analyses and their stored heatmaps; its cached embeddings (rows by the FK cascade, files
      through the embeddings app when it stores any); lab results that show it (entries naming its
      id with a picture are dropped; a result built around it, such as the compression
      experiment's sample, is cleared) and the project's lab feature cache files. Training bundles are written on demand to a path outside
      storage and are not kept, so there is no copy of them to delete. Published model versions
      are immutable and keep only ids in their run's dataset snapshot.
    - Atomic: every file is first copied to a trash folder; rows are deleted and the originals
      removed in one transaction. If anything fails, the removed originals are written back from
      the trash, the transaction rolls back, and the exception propagates: nothing was deleted.
      The trash copies are removed once the transaction commits (copies a failed cleanup left are
      swept by a later call once they are an hour old). Call it outside a transaction
      (or as the last step of one): the files go when its own atomic block ends.
    - Returns a :class:`DeletionReport`; an :class:`ImageDeletion` row records the actor, the
      reason, the image ids, the uploaders and the counts.
    """
    trash_sweep()
    targets = list(Image.objects.filter(pk__in=[_pk(image) for image in images]).select_related("project", "uploader"))
    report = DeletionReport(image_ids=sorted(image.pk for image in targets))
    if not targets:
        return report
    ids = report.image_ids
    names = _stored_files(ids, targets)
    trash = _trash_copy(names)
    removed: list[str] = []
    try:
        with transaction.atomic():
            _delete_rows(ids, report)
            report.images = len(targets)
            report.files = len(names)
            report.record_id = ImageDeletion.objects.create(
                project=targets[0].project if len({t.project_id for t in targets}) == 1 else None,
                actor=actor,
                reason=reason[:40],
                image_ids=ids,
                uploaders=sorted({t.uploader.username for t in targets}),
                counts=report.counts(),
            ).pk
            for name in names:
                default_storage.delete(name)
                removed.append(name)
    except BaseException:
        _restore(removed, trash)
        _trash_discard(trash)
        raise
    projects = {t.project_id for t in targets}
    transaction.on_commit(lambda: _after_commit(trash, projects), robust=True)
    return report


def _after_commit(trash: dict[str, str], project_ids: set[int]) -> None:
    """Remove the trash copies and the projects' lab feature caches (embeddings of the deleted photos)."""
    from apps.lab.features import project_features_forget

    _trash_discard(trash)
    for project_id in project_ids:
        project_features_forget(project_id)


def _pk(image) -> int:
    return image.pk if hasattr(image, "pk") else int(image)


def _stored_files(ids: list[int], targets: list[Image]) -> list[str]:
    """Return every stored file derived from the images that exists in storage."""
    from apps.inference.models import Analysis

    names = [name for image in targets for name in (image.file.name, image.thumbnail.name) if name]
    names += [name for name in Analysis.objects.filter(image_id__in=ids).values_list("heatmap", flat=True) if name]
    names += _embedding_files(ids)
    return [name for name in dict.fromkeys(names) if default_storage.exists(name)]


def _embedding_files(ids: list[int]) -> list[str]:
    """Files of the embeddings cache for the images, when its app stores any per image."""
    try:
        module = __import__("apps.embeddings.services", fromlist=["embedding_files_for_images"])
    except ImportError:
        return []
    files_for = getattr(module, "embedding_files_for_images", None)
    return list(files_for(image_ids=ids)) if files_for else []


def _trash_copy(names: list[str]) -> dict[str, str]:
    """Copy each file to a fresh trash folder; return original -> copy. Nothing is removed yet."""
    batch = uuid.uuid4().hex
    trash: dict[str, str] = {}
    try:
        for name in names:
            with default_storage.open(name, "rb") as fh:
                trash[name] = default_storage.save(posixpath.join(TRASH_PREFIX, batch, name), ContentFile(fh.read()))
    except BaseException:
        _trash_discard(trash)
        raise
    return trash


def _restore(removed: list[str], trash: dict[str, str]) -> None:
    """Write back the originals already removed, under their own names."""
    for name in removed:
        with default_storage.open(trash[name], "rb") as fh:
            saved = default_storage.save(name, ContentFile(fh.read()))
        if saved != name:  # storage picked another name: the rows point at `name`, so this must not happen
            logger.error("restored %s as %s", name, saved)


def _trash_discard(trash: dict[str, str]) -> None:
    for copy in trash.values():
        try:
            default_storage.delete(copy)
        except Exception:  # a copy left in the trash is harmless; trash_sweep removes it later
            logger.exception("could not remove trash copy %s", copy)


def trash_sweep(*, older_than: int = TRASH_MAX_AGE) -> int:
    """Remove trash copies older than `older_than` seconds (left by a failed cleanup); return how many."""
    cutoff = timezone.now() - timedelta(seconds=older_than)
    removed = 0
    pending = [TRASH_PREFIX]
    while pending:
        folder = pending.pop()
        try:
            folders, files = default_storage.listdir(folder)
        except (FileNotFoundError, NotADirectoryError):
            continue
        pending += [posixpath.join(folder, name) for name in folders]
        for name in files:
            path = posixpath.join(folder, name)
            try:
                if default_storage.get_modified_time(path) < cutoff:
                    default_storage.delete(path)
                    removed += 1
            except Exception:  # another sweep got there first, or the storage hiccupped: next time
                logger.warning("could not sweep trash copy %s", path, exc_info=True)
    return removed


def _delete_rows(ids: list[int], report: DeletionReport) -> None:
    from apps.inference.models import Analysis
    from apps.labeling.models import Label

    report.labels = Label.objects.filter(image_id__in=ids).delete()[0]
    report.analyses = Analysis.objects.filter(image_id__in=ids).delete()[0]
    report.embeddings = _delete_embedding_rows(ids)
    report.lab_results = _redact_lab_results(set(ids))
    Image.objects.filter(pk__in=ids).delete()


def _delete_embedding_rows(ids: list[int]) -> int:
    """Delete cached embeddings of the images (any model of the embeddings app with an `image` FK)."""
    if not django_apps.is_installed("apps.embeddings"):
        return 0
    count = 0
    for model in django_apps.get_app_config("embeddings").get_models():
        if any(f.name == "image" and f.is_relation for f in model._meta.get_fields()):
            count += model.objects.filter(image_id__in=ids).delete()[0]
    return count


def _redact_lab_results(ids: set[int]) -> int:
    """Drop the pictures of deleted images from stored lab results; return how many results changed."""
    from apps.lab.models import LabExperiment

    changed = 0
    for experiment in LabExperiment.objects.exclude(result={}).only("pk", "result"):
        result, touched = _redact(experiment.result, ids)
        if touched:
            LabExperiment.objects.filter(pk=experiment.pk).update(result=result)
            changed += 1
    return changed


def _names_deleted_picture(value, ids: set[int]) -> bool:
    return isinstance(value, dict) and value.get("id") in ids and any(key in value for key in _PICTURE_KEYS)


def _redact(value, ids: set[int]):
    """Return (value without the deleted images' entries, whether anything was removed)."""
    if isinstance(value, list):
        kept = [item for item in value if not _names_deleted_picture(item, ids)]
        touched = len(kept) != len(value)
        out = []
        for item in kept:
            item, inner = _redact(item, ids)
            out.append(item)
            touched = touched or inner
        return out, touched
    if isinstance(value, dict):
        # A result whose sample picture is a deleted image (the compression experiment) is all derived from it.
        if any(_names_deleted_picture(inner, ids) for inner in value.values()):
            return {}, True
        touched = False
        out = {}
        for key, inner in value.items():
            out[key], changed = _redact(inner, ids)
            touched = touched or changed
        return out, touched
    return value, False
