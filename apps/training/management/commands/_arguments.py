"""What the training commands read from their arguments the same way: the project and the configuration."""
import json

from django.core.management.base import CommandError

from apps.projects.models import Project
from apps.training.configs import CLASSROOM_OPTIONS
from ml.config import DEFAULT_SETS, add_option_arguments


def project_by_slug(slug: str) -> Project:
    project = Project.objects.filter(slug=slug).first()
    if project is None:
        raise CommandError(f"project {slug!r} does not exist")
    return project


def config_arguments_add(parser) -> None:
    """Add ``--config`` (JSON overrides) and one flag per classroom option, derived from ml.config."""
    parser.add_argument("--config", default="{}", help='JSON overrides, e.g. \'{"epochs": 3}\'; the flags below win over it')
    # A flag not given leaves no option at all, so it never overrides --config with its default.
    add_option_arguments(parser, CLASSROOM_OPTIONS, DEFAULT_SETS["classroom"], absent_when_unset=True)


def config_from_options(options: dict) -> dict:
    """Return the overrides of ``--config`` and the option flags that were given (flags win)."""
    flags = {option.name: options[option.name] for option in CLASSROOM_OPTIONS if option.name in options}
    for name, value in flags.items():
        flags[name] = list(value) if isinstance(value, tuple) else value
    return {**config_overrides(options.get("config") or "{}"), **flags}


def config_overrides(config: str) -> dict:
    """Parse ``--config``: a JSON object of training-configuration overrides."""
    try:
        overrides = json.loads(config)
    except json.JSONDecodeError as exc:
        raise CommandError(f"--config is not valid JSON: {exc}") from exc
    if not isinstance(overrides, dict):
        raise CommandError("--config must be a JSON object, e.g. '{\"epochs\": 3}'")
    return overrides
