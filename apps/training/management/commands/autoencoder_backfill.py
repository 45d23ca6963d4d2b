from django.core.management.base import BaseCommand

from apps.common.exceptions import ApplicationError
from apps.projects.models import Project
from apps.training.management.commands._arguments import project_by_slug
from apps.training.models import ModelVersion
from apps.training.project_autoencoder import (
    project_autoencoder_backfill,
    project_autoencoder_build,
    project_autoencoder_get,
    project_autoencoder_request,
)
from ml.runtime import AUTOENCODER_FILE


class Command(BaseCommand):
    help = (
        "Give every version without autoencoder.onnx a copy of its project's autoencoder; a project without one "
        "gets its build queued on the training worker (or run here with --here), and the build copies it."
    )

    def add_arguments(self, parser):
        parser.add_argument("slugs", nargs="*", help="projects to complete (all projects with such a version by default)")
        parser.add_argument("--here", action="store_true", help="build missing autoencoders in this process, now")

    def handle(self, *args, slugs, here, **options):
        projects = [project_by_slug(slug) for slug in slugs] if slugs else self._lacking()
        for project in projects:
            lacking = _lacking_numbers(project)
            row = project_autoencoder_get(project=project)
            if row is None or not row.ready:
                try:
                    project_autoencoder_request(project=project, send=not here)
                except ApplicationError as exc:
                    self.stdout.write(f"{project.slug}: {exc.message}")
                    continue
                if not here:
                    self.stdout.write(f"{project.slug}: autoencoder build queued; it completes the versions when done")
                    continue
                row = project_autoencoder_build(project_id=project.pk)
                if row is None or not row.ready:  # another process took it, or it failed (the row says why)
                    self.stdout.write(f"{project.slug}: not built ({row.error_message if row else 'already building'})")
                    continue
                section = row.section
                self.stdout.write(f"{project.slug}: built on {section.get('images')} photos "
                                  f"in {(section.get('shared') or {}).get('seconds')} s")
            project_autoencoder_backfill(project=project)
            added = sorted(set(lacking) - set(_lacking_numbers(project)))
            numbers = ", ".join(f"v{n}" for n in added) or "no version (none lacked one)"
            self.stdout.write(f"{project.slug}: autoencoder added to {numbers}")

    @staticmethod
    def _lacking():
        versions = ModelVersion.objects.exclude(status=ModelVersion.Status.FAILED).only("project_id", "files")
        ids = {v.project_id for v in versions if AUTOENCODER_FILE not in v.files}
        return list(Project.objects.filter(pk__in=ids).order_by("slug"))


def _lacking_numbers(project) -> list[int]:
    versions = project.model_versions.exclude(status=ModelVersion.Status.FAILED).only("number", "files")
    return [v.number for v in versions if AUTOENCODER_FILE not in v.files]
