from celery import shared_task


@shared_task(bind=True, acks_late=True)
def lab_experiment_execute_task(self, experiment_id: int) -> None:
    """Run one queued lab experiment (queue `lab`, so it never waits behind a retraining)."""
    from apps.lab.services import lab_experiment_execute

    lab_experiment_execute(experiment_id=experiment_id)
