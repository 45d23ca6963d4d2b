from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from apps.common.exceptions import ApplicationError, NotFoundError
from apps.projects.models import Membership
from apps.projects.selectors import project_list
from apps.uploads.models import Image
from apps.uploads.splits import split_canonical

IMAGE_NOT_FOUND = _("The image does not exist or you cannot see it.")


def image_list(*, user, filters=None) -> QuerySet[Image]:
    """Return the images of the projects the user may see, optionally filtered."""
    filters = filters or {}
    qs = Image.objects.filter(project__in=project_list(user=user)).select_related("project", "uploader")
    if not user.is_superuser:
        # Hidden photos (moderation) are seen only by the teachers of their project.
        taught = Membership.objects.filter(user=user, role=Membership.Role.TEACHER).values("project_id")
        qs = qs.filter(Q(hidden=False) | Q(project__owner=user) | Q(project_id__in=taught))
    if filters.get("project"):
        qs = qs.filter(project__slug=filters["project"])
    if filters.get("split"):
        # ``holdout`` (the sealed test share's older name) still filters for one release.
        qs = qs.filter(split=split_canonical(filters["split"]))
    if filters.get("label") is not None and filters.get("label") != "":
        qs = qs.filter(label=filters["label"])
    if filters.get("labeled") in ("true", "1", True):
        qs = qs.exclude(label="")
    if filters.get("labeled") in ("false", "0", False):
        qs = qs.filter(label="")
    if filters.get("uploader"):
        qs = qs.filter(uploader__username=filters["uploader"])
    return qs


def image_get(*, user, image_id) -> Image:
    image = image_list(user=user).filter(pk=image_id).first()
    if image is None:
        raise NotFoundError(IMAGE_NOT_FOUND)
    return image


IMPORT_NOT_FOUND = _("The import does not exist or you cannot see it.")


def image_import_get(*, user, import_id):
    """Return an import of a project the user manages (its teacher, or staff)."""
    from apps.projects.access import can_manage
    from apps.uploads.models import ImageImport

    image_import = ImageImport.objects.filter(pk=import_id).select_related("project").first()
    if image_import is None or not can_manage(user=user, project=image_import.project):
        raise NotFoundError(IMPORT_NOT_FOUND)
    return image_import


UNKNOWN_STUDENT = _("“%(name)s” is not a member of this project.")
UNKNOWN_LABEL = _("“%(name)s” is not a class of this project.")
UNLABELED = "-"  # the label filter's value for photos without a label


def image_moderation_list(*, project, student: str = "", label: str = "", unusual: bool = False) -> QuerySet[Image]:
    """Return the project's photos, newest first, with `unusual` (the latest analysis's anomaly flag); filtered."""
    from django.db.models import OuterRef, Subquery

    from apps.inference.models import Analysis

    latest = Analysis.objects.filter(image=OuterRef("pk")).order_by("-created_at", "-id").values("is_anomaly")[:1]
    qs = (
        Image.objects.filter(project=project)
        .select_related("uploader")
        .annotate(unusual=Subquery(latest))
        .order_by("-created_at", "-id")
    )
    if student:
        if not (project.owner.username == student or project.memberships.filter(user__username=student).exists()):
            raise ApplicationError(UNKNOWN_STUDENT % {"name": student})
        qs = qs.filter(uploader__username=student)
    if label == UNLABELED:
        qs = qs.filter(label="")
    elif label:
        if label not in project.classes and label != "_none":
            raise ApplicationError(UNKNOWN_LABEL % {"name": label})
        qs = qs.filter(label=label)
    if unusual:
        qs = qs.filter(unusual=True)
    return qs
