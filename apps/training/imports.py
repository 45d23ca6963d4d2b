"""Bring a model trained elsewhere: a zipped model folder checked against the card schema.

Everything that can refuse an import (the archive, the folder, running the model, scoring it on
the test share) happens on a scratch copy before the version row and its stored files exist.
"""
import logging
import shutil
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from apps.common.exceptions import ApplicationError, PermissionDeniedError
from apps.projects.access import can_manage
from apps.training.evaluation import folder_test_score
from apps.training.models import ModelVersion
from ml.card import CARD_FILE

logger = logging.getLogger(__name__)

NOT_A_ZIP = _("The file is not a zip archive of a model folder.")
ZIP_TOO_LARGE = _("The model archive is too large (at most %(mb)d MB unpacked).")
ZIP_UNSAFE = _("The archive contains an unsafe path (%(name)s).")
ZIP_NAME_TOO_LONG = _("The archive contains a name that is too long (%(name)s).")
ZIP_NAME_CLASH = _("The archive contains a file and a folder with the same name (%(name)s).")
ZIP_ENCRYPTED = _("The archive is password-protected (%(name)s): export the model folder without a password.")
ZIP_DAMAGED = _("The archive is damaged: %(name)s cannot be unpacked.")
NO_CARD = _("The archive has no card.json: export the whole model folder.")
FOLDER_INVALID = _("The model folder is not valid: %(problems)s")
TEST_FAILED = _("The model could not be scored on the project's test photos: %(reason)s")
ONLY_TEACHER_IMPORTS = _("Only the project's teacher can import models.")
MAX_FILES = 200
MAX_NAME_BYTES = 255  # one path component, as most file systems allow
MAX_PATH_CHARS = 1024  # a whole entry name; real model folders are a few levels deep
SHOWN_NAME_CHARS = 80  # how much of an offending name a message repeats
ENCRYPTED_FLAG = 0x1  # general purpose bit 0 of a zip entry


def _shown(name: str) -> str:
    return name if len(name) <= SHOWN_NAME_CHARS else name[:SHOWN_NAME_CHARS] + "…"


def _entries_to_write(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """Refuse every entry that cannot be unpacked safely and as named; return the files to write."""
    files, folders = [], set()
    for member in archive.infolist():
        name = PurePosixPath(member.filename)
        if len(member.filename) > MAX_PATH_CHARS or any(len(p.encode("utf-8")) > MAX_NAME_BYTES for p in name.parts):
            raise ApplicationError(ZIP_NAME_TOO_LONG % {"name": _shown(member.filename)})
        is_link = (member.external_attr >> 16) & 0o170000 == 0o120000
        if not name.parts or name.is_absolute() or ".." in name.parts or is_link or "\\" in member.filename:
            raise ApplicationError(ZIP_UNSAFE % {"name": _shown(member.filename)})
        if member.flag_bits & ENCRYPTED_FLAG:
            raise ApplicationError(ZIP_ENCRYPTED % {"name": _shown(member.filename)})
        if member.is_dir():
            folders.add(name.parts)
            continue
        folders.update(name.parts[:i] for i in range(1, len(name.parts)))
        if "__MACOSX" not in name.parts:
            files.append(member)
    for member in files:
        if PurePosixPath(member.filename).parts in folders:
            raise ApplicationError(ZIP_NAME_CLASH % {"name": _shown(member.filename)})
    return files


def _extract(zip_file, target: Path) -> Path:
    """Extract safely (no absolute paths, no '..', no links, bounded size); return the folder with card.json."""
    limit = settings.RIIM_MODEL_IMPORT_MAX_BYTES
    try:
        archive = zipfile.ZipFile(zip_file)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise ApplicationError(NOT_A_ZIP) from exc
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) > MAX_FILES or sum(m.file_size for m in members) > limit:
            raise ApplicationError(ZIP_TOO_LARGE % {"mb": limit // (1024 * 1024)})
        for member in _entries_to_write(archive):
            destination = target.joinpath(*PurePosixPath(member.filename).parts)
            destination.parent.mkdir(parents=True, exist_ok=True)
            try:
                with archive.open(member) as src, destination.open("wb") as dst:
                    shutil.copyfileobj(src, dst, length=1024 * 1024)
            # A bad CRC, corrupt deflate data, a truncated entry or an unknown compression method.
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
                raise ApplicationError(ZIP_DAMAGED % {"name": _shown(member.filename)}) from exc
    cards = sorted(target.rglob(CARD_FILE), key=lambda p: len(p.parts))
    if not cards:
        raise ApplicationError(NO_CARD)
    return cards[0].parent


def _test_score(project, folder: Path) -> tuple[float | None, int]:
    """Score the unpacked folder on the sealed test share; a model that cannot answer it is refused here."""
    try:
        return folder_test_score(folder, project)
    except Exception as exc:  # whatever the imported graph raises, the import is refused, not half stored
        logger.info("imported model failed on the test photos: %s", exc)
        raise ApplicationError(TEST_FAILED % {"reason": f"{type(exc).__name__}: {exc}"[:300]}) from exc


def model_version_import(*, project, user, zip_file) -> ModelVersion:
    """Validate an uploaded model folder, score it on the sealed test share and register it as a candidate."""
    from apps.training.services import model_version_publish
    from ml.validate import import_problems

    if not can_manage(user=user, project=project):
        raise PermissionDeniedError(ONLY_TEACHER_IMPORTS)
    scratch = Path(tempfile.mkdtemp(prefix="riim-import-"))
    try:
        folder = _extract(zip_file, scratch)
        problems, explainable = import_problems(folder)
        if problems:
            raise ApplicationError(FOLDER_INVALID % {"problems": "; ".join(problems)})
        test_score = _test_score(project, folder)
        return model_version_publish(
            project=project, user=user, local_dir=folder, source=ModelVersion.Source.IMPORTED,
            explainable=explainable, auto_activate=False, test_score=test_score,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
