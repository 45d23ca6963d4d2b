import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from rest_framework.exceptions import ValidationError

from apps.projects.models import Project
from apps.training.bundles import training_bundle_write
from apps.training.configs import training_config_clean


class Command(BaseCommand):
    help = "Write a zip with the project's labeled dataset, config, script and notebook, to train elsewhere."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("out", help="the .zip file to write")
        parser.add_argument("--config", default="{}", help="JSON overrides of the training configuration")

    def handle(self, slug, out, config, **options):
        project = Project.objects.filter(slug=slug).first()
        if project is None:
            raise CommandError(f"project {slug!r} does not exist")
        try:
            overrides = json.loads(config)
        except json.JSONDecodeError as exc:
            raise CommandError(f"--config is not valid JSON: {exc}") from exc
        try:
            clean = training_config_clean(overrides)
        except ValidationError as exc:
            raise CommandError(json.dumps(exc.detail, ensure_ascii=False, default=str)) from exc
        counts = training_bundle_write(project=project, out_path=Path(out), config=clean)
        self.stdout.write(json.dumps({"bundle": str(out), "counts": counts}))
