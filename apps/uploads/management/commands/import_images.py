from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from apps.common.exceptions import ApplicationError
from apps.projects.models import Project
from apps.projects.services import project_create
from apps.uploads.imports import image_folder_classes, images_import, source_open_path


class Command(BaseCommand):
    help = (
        "Import a folder or zip with one sub-folder per class (ImageFolder layout) as labeled images; "
        "folder names are matched to the project's classes as the import page does (cat -> gato)."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", help="a folder or a .zip file")
        parser.add_argument("--project", required=True, help="project slug")
        parser.add_argument("--create", action="store_true", help="create the project with the folder's classes")
        parser.add_argument("--user", help="uploader (a teacher of the project); default: the project's teacher")

    def handle(self, directory, project, create, user, **options):
        root = Path(directory)
        if not root.is_dir() and not root.is_file():
            raise CommandError(f"{directory} is not a directory or a zip file")
        User = get_user_model()
        actor = None
        if user:
            actor = User.objects.filter(username=user).first()
            if actor is None:
                raise CommandError(f"user {user!r} does not exist")
        target = Project.objects.filter(slug=project).first()
        if target is None:
            if not create:
                raise CommandError(f"project {project!r} does not exist (use --create)")
            if not root.is_dir():
                raise CommandError("--create needs a folder (its sub-folders name the classes)")
            actor = actor or User.objects.filter(is_superuser=True).order_by("pk").first()
            if actor is None:
                raise CommandError("--create needs --user (a teacher) or an existing superuser")
            try:
                target = project_create(owner=actor, name=project, slug=project, classes=image_folder_classes(root))
            except ApplicationError as exc:
                raise CommandError(str(exc.message)) from exc
        actor = actor or target.owner
        try:
            source = source_open_path(root)
            try:
                report = images_import(project=target, user=actor, source=source)
            finally:
                source.close()
        except ApplicationError as exc:
            raise CommandError(str(exc.message)) from exc
        for label, count in sorted(report.imported.items()):
            self.stdout.write(f"  {label}: {count} imported")
        for row in report.skipped:
            self.stdout.write(f"  skipped {row['name']}: {row['reason']}")
        self.stdout.write(
            self.style.SUCCESS(
                f"{report.total} images imported into {target.slug}, "
                f"{report.duplicates} duplicates, {len(report.skipped)} skipped"
            )
        )
