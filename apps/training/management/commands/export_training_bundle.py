import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from rest_framework.exceptions import ValidationError

from apps.training.bundles import training_bundle_write
from apps.training.configs import training_config_clean
from apps.training.management.commands._arguments import config_overrides, project_by_slug


class Command(BaseCommand):
    help = "Write a zip with the project's labeled dataset, config, script and notebook, to train elsewhere."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("out", help="the .zip file to write")
        parser.add_argument("--config", default="{}", help="JSON overrides of the training configuration")

    def handle(self, slug, out, config, **options):
        project = project_by_slug(slug)
        overrides = config_overrides(config)
        try:
            clean = training_config_clean(overrides)
        except ValidationError as exc:
            raise CommandError(json.dumps(exc.detail, ensure_ascii=False, default=str)) from exc
        counts = training_bundle_write(project=project, out_path=Path(out), config=clean)
        self.stdout.write(json.dumps({"bundle": str(out), "counts": counts}))
