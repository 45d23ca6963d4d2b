from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.training.models import TrainingRun

LOG_TAIL = 30


class WorkerNoticeSerializer(serializers.Serializer):
    queue = serializers.CharField(help_text="the queue the run waits on: training or quick")
    waited_seconds = serializers.IntegerField(help_text="seconds since the run was asked for")
    message = serializers.CharField(help_text="the notice in the reader's language")


class TrainingRunOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.CharField(source="project.slug")
    requested_by = serializers.CharField(source="requested_by.username")
    status = serializers.CharField()
    mode = serializers.ChoiceField(choices=TrainingRun.Mode.choices)
    automatic = serializers.BooleanField()
    config = serializers.DictField()
    progress = serializers.SerializerMethodField()
    metrics = serializers.DictField()
    curves = serializers.ListField()
    log_tail = serializers.SerializerMethodField()
    error_message = serializers.CharField()
    timings = serializers.DictField()
    dataset = serializers.SerializerMethodField()
    worker = serializers.SerializerMethodField()
    model_version = serializers.SerializerMethodField()
    heartbeat_at = serializers.DateTimeField(allow_null=True)
    worker_notice = serializers.SerializerMethodField(
        help_text="null, or why no worker has picked the queued run up: nobody listens on its queue")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)  # null until a worker picks the run up
    finished_at = serializers.DateTimeField(allow_null=True)

    def get_progress(self, run) -> dict:
        from apps.training.events import fallback_reason

        return {"stage": run.stage, "epoch": run.epoch, "percent": run.percent, "cancel_requested": run.cancel_requested,
                "fallback": fallback_reason(run.log), "stage_started_at": _stage_started_at(run)}

    def get_log_tail(self, run) -> list[str]:
        from apps.training.selectors import training_run_log_lines

        return training_run_log_lines(run=run, entries=run.log[-LOG_TAIL:])

    def get_dataset(self, run) -> dict:
        counts = {}
        for _, label, split in run.dataset_snapshot:
            counts.setdefault(split, {}).setdefault(label, 0)
            counts[split][label] += 1
        return {"hash": run.dataset_hash, "n": len(run.dataset_snapshot), "counts": counts}

    def get_worker(self, run) -> dict:
        return {"host": run.worker_host, "pid": run.worker_pid, "task_id": run.celery_task_id, "attempts": run.attempts}

    @extend_schema_field(WorkerNoticeSerializer(allow_null=True))
    def get_worker_notice(self, run) -> dict | None:
        from apps.training.workers import training_run_worker_notice

        notice = training_run_worker_notice(run=run)
        return WorkerNoticeSerializer(notice).data if notice else None

    def get_model_version(self, run) -> int | None:
        version = getattr(run, "model_version", None)
        return version.number if version else None


class TestScoreSerializer(serializers.Serializer):
    accuracy = serializers.FloatField(allow_null=True)
    n = serializers.IntegerField()
    ci95 = serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2, allow_null=True)


class ModelVersionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.CharField(source="project.slug")
    number = serializers.IntegerField()
    status = serializers.CharField()
    source = serializers.CharField()
    mode = serializers.ChoiceField(choices=TrainingRun.Mode.choices, help_text="quick: a head on cached embeddings")
    automatic = serializers.BooleanField(help_text="published by an automatic quick retrain")
    run = serializers.IntegerField(source="run_id", allow_null=True)
    test = TestScoreSerializer(source="test_summary",
                               help_text="the sealed test share: never trained on, never read by a decision")
    holdout_accuracy = serializers.FloatField(source="test_accuracy", allow_null=True,
                                              help_text="deprecated alias of test.accuracy")
    holdout_n = serializers.IntegerField(source="test_n", help_text="deprecated alias of test.n")
    activation = serializers.DictField(help_text="what the activation rule decided for this version, and why")
    metrics = serializers.DictField()
    explainable = serializers.BooleanField()
    problem = serializers.CharField()
    files = serializers.DictField()
    created_at = serializers.DateTimeField()
    activated_at = serializers.DateTimeField(allow_null=True)  # null for a version never activated


def _stage_started_at(run) -> str | None:
    """When the run's current stage began: the time of its first line in the log (None when the log has none)."""
    started = None
    for entry in reversed(run.log or []):
        if not isinstance(entry, dict) or entry.get("stage") != run.stage:
            break
        started = entry.get("at") or started
    return started if run.stage else None
