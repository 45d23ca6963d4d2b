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
