from celery import shared_task


# Acknowledged on receipt, unlike the short tasks: a run lasts longer than the broker's visibility
# timeout and must never be delivered twice; if its worker dies, the heartbeat sweeper fails the run.
@shared_task(bind=True, acks_late=False)
def training_run_execute_task(self, run_id: int) -> None:
    """Train and publish one queued run (queue `training`; TensorFlow is imported only in here)."""
    from apps.training.services import training_run_execute

    training_run_execute(run_id=run_id)


# Its own queue and worker slot (`quick`): a full run in progress never delays it. Acknowledged on
# receipt like a full run: a second delivery would publish a second version.
@shared_task(bind=True, acks_late=False)
def quick_run_execute_task(self, run_id: int) -> None:
    """Fit and publish one queued quick run (queue `quick`: a head on cached embeddings, seconds)."""
    from apps.training.services import training_run_execute

    training_run_execute(run_id=run_id)


@shared_task
def quick_retrain_check_task(project_id: int) -> None:
    """Start an automatic quick run if the project's labels changed enough or went quiet (queue `default`)."""
    from apps.training.automation import quick_retrain_check

    quick_retrain_check(project_id=project_id)


@shared_task
def training_runs_sweep_stale_task() -> int:
    """Fail runs whose worker stopped sending heartbeats (beat runs this periodically)."""
    from apps.training.services import training_runs_sweep_stale

    return training_runs_sweep_stale()


# Queue `training` (its route's pattern): TensorFlow already runs there, never in the web or quick processes.
@shared_task
def project_autoencoder_build_task(project_id: int) -> None:
    """Build a project's queued autoencoder and copy it into the versions that lack one."""
    from apps.training.project_autoencoder import project_autoencoder_build

    project_autoencoder_build(project_id=project_id)
