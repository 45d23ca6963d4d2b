from celery import shared_task


@shared_task(bind=True, acks_late=True)
def analyses_refresh_task(self, project_id: int, version_id: int) -> dict:
    """Re-analyse a project's images with a model version (a batch on the default queue)."""
    from apps.inference.services import analyses_refresh_run
    from apps.projects.models import Project
    from apps.training.models import ModelVersion

    version = ModelVersion.objects.get(pk=version_id, project_id=project_id)
    return analyses_refresh_run(project=Project.objects.get(pk=project_id), version=version)
