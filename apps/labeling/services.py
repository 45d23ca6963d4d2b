"""Labeling: record labels and compute the label that counts for training and evaluation."""
from collections import Counter

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from apps.common.exceptions import ApplicationError, PermissionDeniedError
from apps.labeling.models import Label
from apps.projects.access import can_contribute, project_role
from apps.projects.models import Membership

CANNOT_LABEL = _("You cannot label images of this project.")
UNKNOWN_CLASS = _("“%(label)s” is not one of this project's classes (%(classes)s).")
UNKNOWN_TAG = _("“%(tag)s” is not in this project's tag vocabulary.")
TOO_MANY_TAGS = _("Too many tags (at most 20).")
CANNOT_MANAGE_LABELING = _("Only the project's teacher can change how the class labels.")
LABELS_PER_IMAGE_RANGE = _("Labels per image must be 1, 2 or 3.")


def _latest_per_author(labels):
    latest = {}
    for row in labels:  # newest first
        latest.setdefault((row.author_id, row.source), row)
    return list(latest.values())


def label_resolve(labels) -> tuple[str, str, list]:
    """Return (label, source, tags) that counts, from an image's labels, newest first.

    Rule: the teacher's latest label if any; else the latest import label; else the
    majority of the students' latest labels; a tie (or nothing) gives no label.
    Withdrawn labels (empty) take the author's vote away.
    """
    current = _latest_per_author(labels)
    for source in (Label.Source.TEACHER, Label.Source.IMPORT):
        rows = [row for row in current if row.source == source]
        if rows:
            newest = max(rows, key=lambda r: (r.created_at, r.pk))
            if newest.label:
                return newest.label, source, list(newest.tags)
    votes = [row for row in current if row.source == Label.Source.STUDENT and row.label]
    if not votes:
        return "", "", []
    counts = Counter(row.label for row in votes).most_common()
    if len(counts) > 1 and counts[0][1] == counts[1][1]:
        return "", "", []
    winner = counts[0][0]
    voters = [row for row in votes if row.label == winner]
    # A tag counts when most of the students who chose the winning class gave it.
    tag_counts = Counter(tag for row in voters for tag in set(row.tags))
    tags = sorted(tag for tag, n in tag_counts.items() if n * 2 > len(voters))
    return winner, Label.Source.STUDENT, tags


def image_label_resolve(*, image) -> None:
    """Recompute and store the label that counts on the image."""
    label, source, tags = label_resolve(list(image.labels.order_by("-created_at", "-id")))
    image.label, image.label_source, image.tags = label, source, tags
    image.save(update_fields=["label", "label_source", "tags", "updated_at"])


def _clean_tags(project, tags):
    cleaned = []
    for tag in tags or []:
        tag = str(tag).strip().lower()
        if not tag:
            continue
        if project.tag_vocabulary and tag not in project.tag_vocabulary:
            raise ApplicationError(UNKNOWN_TAG % {"tag": tag})
        if len(tag) > 40:
            raise ApplicationError(UNKNOWN_TAG % {"tag": tag[:40]})
        if tag not in cleaned:
            cleaned.append(tag)
    if len(cleaned) > 20:
        raise ApplicationError(TOO_MANY_TAGS)
    return cleaned


@transaction.atomic
def label_assign(*, image, author, label: str, tags=None, source=None) -> Label:
    """Record the author's label for an image (empty label withdraws it) and update the label that counts."""
    project = image.project
    if not can_contribute(user=author, project=project):
        raise PermissionDeniedError(CANNOT_LABEL)
    label = (label or "").strip().lower()
    if label and label != Label.NONE_OF_THESE and label not in project.classes:
        raise ApplicationError(UNKNOWN_CLASS % {"label": label, "classes": ", ".join(project.classes)})
    if source is None:
        role = project_role(user=author, project=project)
        source = Label.Source.TEACHER if role in ("staff", Membership.Role.TEACHER) else Label.Source.STUDENT
    row = Label.objects.create(image=image, author=author, label=label, tags=_clean_tags(project, tags), source=source)
    image_label_resolve(image=image)
    return row


def label_undo_latest(*, project, author) -> Label | None:
    """Undo the author's latest labeling act in the project, whichever photo it was on.

    The labeling page moves on to the next photo after each answer, so "undo" means the
    answer just given, not the photo now on screen.
    """
    latest = Label.objects.filter(image__project=project, author=author).select_related("image").first()
    return label_undo(image=latest.image, author=author) if latest else None


def label_undo(*, image, author) -> Label | None:
    """Undo the author's latest labeling act on the image by restoring their previous label."""
    rows = list(image.labels.filter(author=author).order_by("-created_at", "-id")[:2])
    if not rows:
        return None
    previous = rows[1] if len(rows) > 1 else None
    return label_assign(
        image=image,
        author=author,
        label=previous.label if previous else "",
        tags=previous.tags if previous else [],
        source=rows[0].source,
    )


def project_labeling_settings_update(*, project, actor, labeling_strategy: str, labels_per_image: int):
    """Store the project's labeling order and labels per image (its teacher only)."""
    from apps.labeling.queue import strategy_validate
    from apps.projects.access import can_manage

    if not can_manage(user=actor, project=project):
        raise PermissionDeniedError(CANNOT_MANAGE_LABELING)
    if not 1 <= int(labels_per_image) <= 3:
        raise ApplicationError(LABELS_PER_IMAGE_RANGE)
    project.labeling_strategy = strategy_validate(labeling_strategy)
    project.labels_per_image = int(labels_per_image)
    project.save(update_fields=["labeling_strategy", "labels_per_image", "updated_at"])
    return project
