"""The runtime folders of the embedded defaults: created at start-up, or refused in one line naming the folder.

A fresh checkout, or RIIM_VAR_DIR pointing at a folder that does not exist yet, has none of them.
SQLite cannot create a file in a missing folder, so a worker whose embedded broker lives there
restarts on "unable to open database file" until Celery gives up, without ever naming the folder.
Every process (web, workers, beat, manage.py) makes them when Django starts (apps.common's ready()).
"""

import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

EMBEDDED_BROKER_PREFIX = "riim-sqla+sqlite:///"
# Written for whoever starts the processes, in a log or a terminal, before any page exists to translate it.
CANNOT_CREATE = "cannot create the runtime folder {folder} ({reason}): create it, or set {variable} to a folder this user may write"
NOT_WRITABLE = "the runtime folder {folder} is not writable by this user: fix its permissions, or set {variable} to another folder"


class RuntimeFolderError(Exception):
    """A runtime folder is missing and cannot be made, or cannot be written."""


@dataclass(frozen=True)
class RuntimeFolder:
    """A folder a process writes to, and the setting that chooses it (named in the refusal)."""

    path: Path
    variable: str


def _sqlite_folder() -> RuntimeFolder | None:
    database = settings.DATABASES["default"]
    name = str(database.get("NAME") or "")
    if database["ENGINE"] != "django.db.backends.sqlite3" or not name or name == ":memory:" or name.startswith("file:"):
        return None
    return RuntimeFolder(Path(name).parent, "DATABASE_URL" if os.environ.get("DATABASE_URL") else "RIIM_VAR_DIR")


def _broker_folder() -> RuntimeFolder | None:
    url = str(settings.CELERY_BROKER_URL)
    if not url.startswith(EMBEDDED_BROKER_PREFIX):
        return None
    return RuntimeFolder(Path(url.removeprefix(EMBEDDED_BROKER_PREFIX)).parent, "CELERY_BROKER_URL"
                         if os.environ.get("CELERY_BROKER_URL") else "RIIM_VAR_DIR")


def runtime_folders() -> list[RuntimeFolder]:
    """Return the folders this process's settings write to: var, the SQLite files', media, caches, beat's schedule."""
    folders = [RuntimeFolder(Path(settings.VAR_DIR), "RIIM_VAR_DIR"), _sqlite_folder(), _broker_folder(),
               RuntimeFolder(Path(settings.RIIM_MODEL_CACHE_DIR), "RIIM_MODEL_CACHE_DIR"),
               RuntimeFolder(Path(settings.CELERY_BEAT_SCHEDULE_FILENAME).parent, "RIIM_VAR_DIR")]
    if settings.STORAGES["default"]["BACKEND"] == "django.core.files.storage.FileSystemStorage":
        folders.append(RuntimeFolder(Path(settings.MEDIA_ROOT), "MEDIA_ROOT"))
    unique = {}
    for folder in folders:
        if folder is not None:
            unique.setdefault(folder.path, folder)
    return list(unique.values())


def runtime_folders_create() -> None:
    """Create every missing runtime folder; raise RuntimeFolderError naming the first that cannot be made or written."""
    for folder in runtime_folders():
        try:
            folder.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            reason = exc.strerror or exc.__class__.__name__
            raise RuntimeFolderError(CANNOT_CREATE.format(folder=folder.path, reason=reason, variable=folder.variable)) from exc
        if not os.access(folder.path, os.W_OK | os.X_OK):
            raise RuntimeFolderError(NOT_WRITABLE.format(folder=folder.path, variable=folder.variable))
