from celery import shared_task


@shared_task
def pending_work_resend_task() -> dict:
    """Send work whose row still says pending to the broker again (beat runs this every minute)."""
    from apps.delivery.services import pending_work_resend

    return pending_work_resend()
