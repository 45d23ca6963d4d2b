from django.db.models import Exists, OuterRef

from apps.labeling.models import Label


def labeling_queue(*, project, user):
    """Return the project's images in labeling order, annotated with whether the user labeled each."""
    mine = Label.objects.filter(image=OuterRef("pk"), author=user).exclude(label="")
    return project.images.order_by("pk").annotate(labeled_by_me=Exists(mine))


def label_latest_by(*, image, user):
    """Return the user's current label row on the image (None if none or withdrawn)."""
    row = image.labels.filter(author=user).order_by("-created_at", "-id").first()
    return row if row and row.label else None


def label_history(*, image):
    return image.labels.select_related("author").order_by("-created_at", "-id")
