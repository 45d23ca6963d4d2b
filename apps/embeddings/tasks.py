import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True)
def image_embedding_compute_task(self, image_id: int) -> None:
    """Embed one freshly processed image (queue `default`); without pretrained weights, do nothing."""
    from apps.common.exceptions import ApplicationError
    from apps.embeddings.services import image_embeddings_compute
    from apps.uploads.models import Image

    image = Image.objects.filter(pk=image_id).first()
    if image is None:
        return
    try:
        image_embeddings_compute(images=[image])
    except ApplicationError as exc:  # no weights: the cache stays empty until they exist
        logger.info("image %s not embedded: %s", image_id, exc.message)


@shared_task(bind=True, acks_late=True)
def project_embeddings_refresh_task(self, project_id: int) -> None:
    """Embed every photo of a project under its (new) network (queue `default`); without weights, do nothing."""
    from apps.common.exceptions import ApplicationError
    from apps.embeddings.selectors import project_embeddings
    from apps.projects.models import Project

    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        return
    try:
        project_embeddings(project)  # fills every gap, in batches; the page counts the rows as they land
    except ApplicationError as exc:
        logger.info("project %s not embedded: %s", project_id, exc.message)
