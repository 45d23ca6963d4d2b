import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.common.exceptions import ApplicationError
from apps.training.bundles import training_bundle_write
from apps.training.configs import training_config_clean
from apps.training.management.commands._arguments import config_arguments_add, config_from_options, project_by_slug


class Command(BaseCommand):
    help = "Write a zip with the project's labeled dataset, config, script and notebook, to train elsewhere."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("out", help="the .zip file to write")
        config_arguments_add(parser)

    def handle(self, slug, out, **options):
        project = project_by_slug(slug)
        overrides = config_from_options(options)
        try:
            clean = training_config_clean(overrides)
        except ApplicationError as exc:
            raise CommandError(json.dumps(exc.extra, ensure_ascii=False) if exc.extra else str(exc.message)) from exc
        counts = training_bundle_write(project=project, out_path=Path(out), config=clean)
        self.stdout.write(json.dumps({"bundle": str(out), "counts": counts}))
