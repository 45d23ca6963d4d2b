"""Read-only views of what happened in projects: uploads and labeling acts."""
from django.db.models import Q, QuerySet

from apps.inference.models import Analysis
from apps.labeling.models import Label
from apps.projects.access import project_role
from apps.projects.selectors import project_list_with_roles
from apps.uploads.models import Image

REVIEW_ROLES = ("staff", "teacher", "grader")


def reviewable_projects(*, user):
    """Return the projects whose whole activity the user may review (teachers, graders, staff)."""
    return [p for p in project_list_with_roles(user=user) if project_role(user=user, project=p) in REVIEW_ROLES]


def label_activity(*, user) -> QuerySet[Label]:
    return Label.objects.filter(image__project__in=reviewable_projects(user=user)).select_related(
        "author", "image", "image__project"
    )


def upload_activity(*, user) -> QuerySet[Image]:
    return Image.objects.filter(project__in=reviewable_projects(user=user)).select_related("uploader", "project")


def my_uploads(*, user) -> QuerySet[Image]:
    # A photo the teacher hid (moderation) leaves its student's history too.
    mine = Image.objects.filter(uploader=user).filter(Q(hidden=False) | Q(project__owner=user))
    return mine.select_related("project").order_by("-created_at", "-id")


def my_labels(*, user) -> QuerySet[Label]:
    return Label.objects.filter(author=user).select_related("image", "image__project").order_by("-created_at", "-id")


def analysis_activity(*, user) -> QuerySet[Analysis]:
    """Return every analysis (server and browser) of the images of the projects the user reviews."""
    return Analysis.objects.filter(image__project__in=reviewable_projects(user=user)).select_related(
        "model_version", "image", "image__project", "image__uploader"
    )


def my_analyses(*, user) -> QuerySet[Analysis]:
    """Return the analyses of the images the user uploaded, newest first."""
    return (
        Analysis.objects.filter(image__uploader=user)
        .select_related("model_version", "image", "image__project")
        .order_by("-created_at", "-id")
    )
