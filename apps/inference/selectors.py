from dataclasses import dataclass
from functools import cache

from django.db.models import QuerySet

from apps.common.exceptions import NotFoundError
from apps.common.rows import RowReader
from apps.inference.models import Analysis
from apps.projects.access import project_role
from apps.projects.models import Membership, Project
from apps.projects.selectors import PROJECT_NOT_FOUND
from apps.training.models import ModelVersion
from apps.training.selectors import VERSION_NOT_FOUND, model_version_active


@cache
def _analysis_project():
    """(reader, SQL) of a project by slug with the viewer's role and the active version's id and folder."""
    reader = RowReader(Project, "p")
    sql = (
        f"SELECT {reader.columns}, m.role, v.id, v.artifact_dir "
        f"FROM {Project._meta.db_table} p "
        f"LEFT JOIN {Membership._meta.db_table} m ON m.project_id = p.id AND m.user_id = %s "
        f"LEFT JOIN {ModelVersion._meta.db_table} v ON v.project_id = p.id AND v.status = %s "
        "WHERE p.slug = %s"
    )
    return reader, sql


@dataclass(frozen=True)
class AnalysisTarget:
    """A project read for an analysis, with the viewer's role and which version is active (one query)."""

    project: Project
    role: str  # the viewer's role in the project, as ``project_role`` answers it
    active_version_id: int | None
    active_version_dir: str | None  # the active version's artifact folder: part of the loader's cache key


def analysis_project_get(*, user, slug) -> AnalysisTarget:
    """Return a project the user can see, with the user's role and its active version's id and folder.

    This is the analysis API's hot path, so it is one hand-written query read without the ORM's
    per-query machinery (``apps.common.rows``). The loader then needs no other query when this
    process already serves that version.
    """
    reader, sql = _analysis_project()
    found = reader.fetch_one(sql, [user.pk, ModelVersion.Status.ACTIVE.value, slug])
    if found is None:
        raise NotFoundError(PROJECT_NOT_FOUND)
    project, (membership_role, version_id, version_dir) = found
    role = project_role(user=user, project=project, membership_role=membership_role)
    if role is None:
        raise NotFoundError(PROJECT_NOT_FOUND)
    return AnalysisTarget(project=project, role=role, active_version_id=version_id, active_version_dir=version_dir)


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
