from celery import shared_task


# On the `quick` queue: seconds of numeric work that must not wait behind a class's uploads on `default`.
@shared_task(acks_late=True)
def labeling_queue_refresh_task(project_id: int) -> None:
    """Rank a project's photos for the labeling queue and share the ranking through the cache."""
    from apps.labeling.queue import labeling_queue_refresh

    labeling_queue_refresh(project_id=project_id)
