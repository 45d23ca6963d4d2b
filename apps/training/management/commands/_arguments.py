"""What the training commands read from their arguments the same way: the project and the --config JSON."""
import json

from django.core.management.base import CommandError

from apps.projects.models import Project


def project_by_slug(slug: str) -> Project:
    project = Project.objects.filter(slug=slug).first()
    if project is None:
        raise CommandError(f"project {slug!r} does not exist")
    return project


def config_overrides(config: str) -> dict:
    """Parse ``--config``: a JSON object of training-configuration overrides."""
    try:
        overrides = json.loads(config)
    except json.JSONDecodeError as exc:
        raise CommandError(f"--config is not valid JSON: {exc}") from exc
    if not isinstance(overrides, dict):
        raise CommandError("--config must be a JSON object, e.g. '{\"epochs\": 3}'")
    return overrides
