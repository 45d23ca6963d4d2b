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
    # Then its frozen-backbone embedding, a task of its own so a slow first export never delays thumbnails.
    from apps.embeddings.tasks import image_embedding_compute_task

    image_embedding_compute_task.delay(image_id)


@shared_task(bind=True, acks_late=True)
def image_import_run_task(self, import_id: int) -> None:
    """Import a spooled zip or set of photos (runs on the default queue)."""
    from apps.uploads.imports import image_import_run
    from apps.uploads.models import ImageImport

    image_import = ImageImport.objects.filter(pk=import_id).select_related("project", "requested_by").first()
    if image_import is not None:
        image_import_run(image_import=image_import)
