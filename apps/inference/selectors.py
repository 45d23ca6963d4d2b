from django.db.models import QuerySet

from apps.common.exceptions import NotFoundError
from apps.inference.models import Analysis
from apps.projects.access import project_role
from apps.projects.models import Membership, Project
from apps.projects.selectors import PROJECT_NOT_FOUND
from apps.training.models import ModelVersion
from apps.training.selectors import VERSION_NOT_FOUND, model_version_active


def analysis_project_get(*, user, slug):
    """Return a project the user can see, carrying the user's role and its active version's id and folder.

    This is the analysis API's hot path, so it is one hand-written query: composing the same with the
    ORM costs several times more than running it. The loader then needs no other query when this
    process already serves that version.
    """
    sql = (
        "SELECT p.*, m.role AS member_role, v.id AS active_version_id, v.artifact_dir AS active_version_dir "
        f"FROM {Project._meta.db_table} p "
        f"LEFT JOIN {Membership._meta.db_table} m ON m.project_id = p.id AND m.user_id = %s "
        f"LEFT JOIN {ModelVersion._meta.db_table} v ON v.project_id = p.id AND v.status = %s "
        "WHERE p.slug = %s"
    )
    project = next(iter(Project.objects.raw(sql, [user.pk, ModelVersion.Status.ACTIVE.value, slug])), None)
    if project is not None:
        project.viewer_id, project.viewer_role = user.pk, project.member_role  # read by project_role
    if project is None or project_role(user=user, project=project) is None:
        raise NotFoundError(PROJECT_NOT_FOUND)
    return project


def analysis_for_image(*, image, version_number=None, ran_on="server") -> Analysis | None:
    """Return the stored analysis of an image by a version number (default: the active version)."""
    qs = Analysis.objects.filter(image=image, ran_on=ran_on).select_related("model_version")
    if version_number is not None:
        return qs.filter(model_version__number=version_number).first()
    return qs.filter(model_version__status="active").first()


def image_version(*, image, version_number=None):
    """Return the project's version with that number (default: the active one), or raise a 404."""
    if version_number is None:
        version = model_version_active(project=image.project)
    else:
        version = image.project.model_versions.filter(number=version_number).first()
    if version is None:
        raise NotFoundError(VERSION_NOT_FOUND)
    return version


def image_analyses(*, image) -> QuerySet[Analysis]:
    """Return every analysis of an image, newest first, server and browser alike."""
    return Analysis.objects.filter(image=image).select_related("model_version")
