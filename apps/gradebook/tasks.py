from celery import shared_task


@shared_task(acks_late=True)
def retention_sweep_task() -> list[int]:
    """Delete the photos of projects past their retention period (beat, daily)."""
    from apps.gradebook.data_rights import retention_sweep

    return retention_sweep()
