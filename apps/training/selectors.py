from django.utils.translation import gettext_lazy as _

from apps.common.exceptions import NotFoundError
from apps.projects.selectors import project_list
from apps.training.models import ModelVersion, TrainingRun

RUN_NOT_FOUND = _("The training run does not exist or you cannot see it.")
VERSION_NOT_FOUND = _("The model version does not exist or you cannot see it.")


def training_run_list(*, user, project=None):
    qs = TrainingRun.objects.filter(project__in=project_list(user=user)).select_related("project", "requested_by")
    return qs.filter(project=project) if project is not None else qs


def training_run_get(*, user, run_id) -> TrainingRun:
    run = training_run_list(user=user).filter(pk=run_id).first()
    if run is None:
        raise NotFoundError(RUN_NOT_FOUND)
    return run


def model_version_list(*, user, project=None):
    qs = ModelVersion.objects.filter(project__in=project_list(user=user)).select_related("project", "run")
    return qs.filter(project=project) if project is not None else qs


def model_version_get(*, user, version_id) -> ModelVersion:
    version = model_version_list(user=user).filter(pk=version_id).first()
    if version is None:
        raise NotFoundError(VERSION_NOT_FOUND)
    return version


def model_version_active(*, project) -> ModelVersion | None:
    return project.model_versions.filter(status=ModelVersion.Status.ACTIVE).first()


def card_variants(card: dict) -> dict[str, dict]:
    """Each exported variant of a model card: file size, gzip size, median latency (ms) and holdout accuracy.

    The engine writes these in three sections (``sizes``, ``latency`` as p50/p95/n, ``variants``);
    the versions page and the lab's compression page read them here.
    """
    sizes, latency, variants = card.get("sizes") or {}, card.get("latency") or {}, card.get("variants") or {}
    return {
        name: {
            "bytes": (sizes.get(name) or {}).get("bytes"),
            "gzip_bytes": (sizes.get(name) or {}).get("gzip_bytes"),
            "p50_ms": (latency.get(name) or {}).get("p50"),
            "accuracy": (variants.get(name) or {}).get("accuracy"),
        }
        for name in sorted(set(sizes) | set(latency) | set(variants))
    }
