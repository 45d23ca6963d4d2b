from celery import shared_task


@shared_task(bind=True, acks_late=True)
def image_process_task(self, image_id: int) -> None:
    """Make the thumbnail and statistics of a freshly uploaded image."""
    from apps.uploads.models import Image
    from apps.uploads.processing import image_process

    image = Image.objects.filter(pk=image_id).first()
    if image is None:
        return
    transport = self.app.connection_for_write().transport_cls
    image_process(
        image,
        worker_info={
            "worker": getattr(self.request, "hostname", None),
            "transport": str(transport),
            "eager": bool(self.request.is_eager),
        },
    )
