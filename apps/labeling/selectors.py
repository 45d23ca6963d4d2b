from django.db.models import BooleanField, Case, OuterRef, Subquery, When

from apps.labeling.models import Label


def labeling_queue(*, project, user):
    """Return the project's images in labeling order, annotated with whether the user labeled each.

    Only the user's latest row counts: an undone answer (an empty row on top) is no longer theirs.
    """
    latest = Label.objects.filter(image=OuterRef("pk"), author=user).order_by("-created_at", "-id").values("label")[:1]
    return (
        project.images.filter(hidden=False)
        .order_by("pk")
        .annotate(my_latest_label=Subquery(latest))
        .annotate(labeled_by_me=Case(When(my_latest_label__gt="", then=True), default=False, output_field=BooleanField()))
    )


def label_latest_by(*, image, user):
    """Return the user's current label row on the image (None if none or withdrawn)."""
    row = image.labels.filter(author=user).order_by("-created_at", "-id").first()
    return row if row and row.label else None


def label_history(*, image):
    return image.labels.select_related("author").order_by("-created_at", "-id")


def labeling_queue_for(*, project, user, strategy=None, limit=20):
    """Return the user's next photos to label (a contributor's queue; graders have none)."""
    from apps.common.exceptions import PermissionDeniedError
    from apps.labeling.queue import labeling_queue_ranked
    from apps.labeling.services import CANNOT_LABEL
    from apps.projects.access import can_contribute

    if not can_contribute(user=user, project=project):
        raise PermissionDeniedError(CANNOT_LABEL)
    return labeling_queue_ranked(project=project, user=user, strategy=strategy, limit=limit)


def label_quality_for(*, project, user):
    """Return the project's label quality as the user may see it: a student only their own row, no suspects."""
    from dataclasses import replace

    from apps.labeling.quality import label_quality
    from apps.projects.access import project_role
    from apps.projects.models import Membership

    if project_role(user=user, project=project) in ("staff", Membership.Role.TEACHER, Membership.Role.GRADER):
        return label_quality(project)
    quality = label_quality(project, suspects=False)
    return replace(quality, students=[row for row in quality.students if row.user_id == user.pk], suspects=[])
