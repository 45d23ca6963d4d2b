"""Store uploaded images: validate, deduplicate, assign the fixed split, process after commit."""
import hashlib
import posixpath
import uuid

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from apps.common.exceptions import ApplicationError, ConflictError, PermissionDeniedError
from apps.projects.access import can_contribute
from apps.uploads.models import Image
from apps.uploads.splits import capture_split_for, image_split_for
from apps.uploads.validators import ImageRejected, image_clean

CANNOT_UPLOAD = _("You cannot upload images to this project.")
DUPLICATE_IMAGE = _("This image is already in the project (uploaded as “%(name)s”).")


def image_upload_create(*, project, uploader, raw: bytes, name: str, capture_session=None) -> Image:
    """Validate and store one image; raise ApplicationError (4xx) and store nothing when refused.

    Webcam frames carry their ``capture_session`` (a UUID): the split follows the session, not the frame.
    """
    if not can_contribute(user=uploader, project=project):
        raise PermissionDeniedError(CANNOT_UPLOAD)
    # A picture already in the project is recognised from its bytes, before paying for any decode.
    existing = Image.objects.filter(project=project, sha256=hashlib.sha256(raw).hexdigest()).first()
    if existing is not None:
        raise ConflictError(DUPLICATE_IMAGE % {"name": existing.original_name}, extra={"duplicate_of": existing.pk})
    try:
        clean = image_clean(raw, name)
    except ImageRejected as exc:
        raise ApplicationError(exc.message) from exc
    path = posixpath.join("images", project.slug, clean.sha256[:2], f"{uuid.uuid4().hex}{clean.extension}")
    stored_name = default_storage.save(path, ContentFile(clean.content))
    try:
        with transaction.atomic():
            image = Image.objects.create(
                project=project,
                uploader=uploader,
                original_name=clean.original_name,
                file=stored_name,
                sha256=clean.sha256,
                width=clean.width,
                height=clean.height,
                format=clean.format,
                size_bytes=len(clean.content),
                split=(capture_split_for(capture_session=capture_session, project=project)
                       if capture_session else image_split_for(sha256=clean.sha256, project=project)),
                capture_session=capture_session,
            )
            # robust: a broker that is down must not fail the upload; the pending-work sweep resends it.
            transaction.on_commit(lambda: image_process_send(image_id=image.pk), robust=True)
    except IntegrityError as exc:
        # The same picture arrived twice at once: the unique constraint keeps one, this one is a duplicate.
        default_storage.delete(stored_name)
        first = Image.objects.filter(project=project, sha256=clean.sha256).first()
        raise ConflictError(
            DUPLICATE_IMAGE % {"name": first.original_name if first else clean.original_name},
            extra={"duplicate_of": first.pk if first else None},
        ) from exc
    except Exception:
        # Nothing half-stored: a failed row write removes the file it would have pointed to.
        default_storage.delete(stored_name)
        raise
    return image


def image_process_send(*, image_id: int) -> None:
    """Hand an image to the broker for its thumbnail and embedding (after upload, or again from the sweep)."""
    from apps.uploads.tasks import image_process_task

    image_process_task.delay(image_id)


CANNOT_MODERATE = _("Only the project's teacher can moderate its photos.")


def images_hide(*, project, images, actor, hidden: bool) -> int:
    """Hide photos from students, the labeling queue and training (or show them again); return how many changed."""
    from apps.projects.access import can_manage

    if not can_manage(user=actor, project=project):
        raise PermissionDeniedError(CANNOT_MODERATE)
    return Image.objects.filter(project=project, pk__in=[image.pk for image in images]).exclude(hidden=hidden).update(
        hidden=hidden
    )
