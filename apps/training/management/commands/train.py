import json
import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from apps.common.exceptions import ApplicationError
from apps.training.management.commands._arguments import config_arguments_add, config_from_options, project_by_slug
from apps.training.models import TrainingRun
from apps.training.serializers import TrainingRunOutputSerializer
from apps.training.services import training_run_start
from apps.training.workers import training_run_worker_notice


class Command(BaseCommand):
    help = "Start a retraining run for a project (optionally wait for it and print its summary)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--wait", action="store_true", help="block until the run ends; exit 1 unless it succeeded, "
                            "or as soon as no worker has picked it up within RIIM_WORKER_PICKUP_SECONDS")
        parser.add_argument("--user", help="teacher who requests it (default: the project's teacher)")
        parser.add_argument("--timeout", type=float, default=6 * 3600, help="seconds to wait at most with --wait")
        config_arguments_add(parser)

    def handle(self, slug, wait, user, timeout, **options):
        project = project_by_slug(slug)
        overrides = config_from_options(options)
        requester = get_user_model().objects.filter(username=user).first() if user else project.owner
        if requester is None:
            raise CommandError(f"user {user!r} does not exist")
        try:
            run = training_run_start(project=project, user=requester, config=overrides)
        except ApplicationError as exc:
            # A refused configuration names each key and its messages, as the API's 400 body does.
            raise CommandError(json.dumps(exc.extra, ensure_ascii=False) if exc.extra else str(exc.message)) from exc
        self.stderr.write(f"training run {run.pk} queued for {project.slug}")
        if not wait:
            self.stdout.write(json.dumps({"id": run.pk, "status": run.status}))
            return
        deadline = time.monotonic() + timeout
        last = None
        while True:
            run.refresh_from_db()
            line = f"{run.status} {run.stage} {run.percent:.0f}%"
            if line != last:
                self.stderr.write(line)
                last = line
            # Nobody listens on the run's queue: waiting until the timeout would only hide it.
            notice = training_run_worker_notice(run=run)
            if not run.is_active or notice or time.monotonic() > deadline:
                break
            time.sleep(2)
        summary = TrainingRunOutputSerializer(run).data
        summary.pop("curves", None)
        self.stdout.write(json.dumps(summary, ensure_ascii=False, default=str, indent=2))
        if notice:
            raise CommandError(f"run {run.pk}: {notice.message}")
        if run.status != TrainingRun.Status.SUCCEEDED:
            raise CommandError(f"run {run.pk} ended {run.status}: {run.error_message}")
