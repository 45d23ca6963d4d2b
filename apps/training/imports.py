"""Bring a model trained elsewhere: a zipped model folder checked against the card schema."""
import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from apps.common.exceptions import ApplicationError, PermissionDeniedError
from apps.projects.access import can_manage
from apps.training.models import ModelVersion

NOT_A_ZIP = _("The file is not a zip archive of a model folder.")
ZIP_TOO_LARGE = _("The model archive is too large (at most %(mb)d MB unpacked).")
ZIP_UNSAFE = _("The archive contains an unsafe path (%(name)s).")
NO_CARD = _("The archive has no card.json: export the whole model folder.")
FOLDER_INVALID = _("The model folder is not valid: %(problems)s")
ONLY_TEACHER_IMPORTS = _("Only the project's teacher can import models.")
MAX_FILES = 200


def _extract(zip_file, target: Path) -> Path:
    """Extract safely (no absolute paths, no '..', no links, bounded size); return the folder with card.json."""
    limit = settings.RIIM_MODEL_IMPORT_MAX_BYTES
    try:
        archive = zipfile.ZipFile(zip_file)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ApplicationError(NOT_A_ZIP) from exc
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) > MAX_FILES or sum(m.file_size for m in members) > limit:
            raise ApplicationError(ZIP_TOO_LARGE % {"mb": limit // (1024 * 1024)})
        for member in members:
            name = PurePosixPath(member.filename)
            is_link = (member.external_attr >> 16) & 0o170000 == 0o120000
            if name.is_absolute() or ".." in name.parts or is_link or "\\" in member.filename:
                raise ApplicationError(ZIP_UNSAFE % {"name": member.filename})
            if "__MACOSX" in name.parts:
                continue
            destination = target.joinpath(*name.parts)
            destination.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as src, destination.open("wb") as dst:
                shutil.copyfileobj(src, dst, length=1024 * 1024)
    cards = sorted(target.rglob("card.json"), key=lambda p: len(p.parts))
    if not cards:
        raise ApplicationError(NO_CARD)
    return cards[0].parent


def _classification_problems(folder: Path) -> list[str]:
    """Check the minimum a classifier needs: a card with classes and a model.onnx mapping `image` to them."""
    import numpy as np

    from ml.card import read_card
    from ml.inference import open_session

    try:
        card = read_card(folder)
        classes = list(card["classes"])
        size = card["input"]["size"]
        size = int(size[0] if isinstance(size, list) else size)
        session = open_session(folder / "model.onnx")
        names = [o.name for o in session.get_outputs()]
        if "probabilities" not in names or session.get_inputs()[0].name != "image":
            return ["model.onnx must take `image` and give `probabilities`"]
        (probabilities,) = session.run(["probabilities"], {"image": np.zeros((1, size, size, 3), np.float32)})
    except Exception as exc:  # any unreadable piece makes the folder unusable
        return [f"{type(exc).__name__}: {exc}"[:300]]
    if probabilities.shape != (1, len(classes)):
        return [f"model.onnx gives {probabilities.shape[-1]} probabilities for {len(classes)} classes"]
    return []


def model_folder_check(folder: Path) -> tuple[list[str], bool]:
    """Return (problems, explainable).

    A folder that passes `ml validate` is fully served (heatmaps, anomaly). One that fails it but
    still classifies (a card with classes, model.onnx from `image` to `probabilities`) is accepted
    as classification only; anything else is refused with every problem `ml validate` found.
    """
    from ml.validate import validate_folder

    problems = validate_folder(folder)
    if not problems:
        return [], True
    if not _classification_problems(folder):
        return [], False
    return problems, False


def model_version_import(*, project, user, zip_file) -> ModelVersion:
    """Validate an uploaded model folder, score it on the holdout and register it as a candidate."""
    from apps.training.services import model_version_publish

    if not can_manage(user=user, project=project):
        raise PermissionDeniedError(ONLY_TEACHER_IMPORTS)
    scratch = Path(tempfile.mkdtemp(prefix="riim-import-"))
    try:
        folder = _extract(zip_file, scratch)
        problems, explainable = model_folder_check(folder)
        if problems:
            raise ApplicationError(FOLDER_INVALID % {"problems": "; ".join(problems)})
        return model_version_publish(
            project=project, user=user, local_dir=folder, source=ModelVersion.Source.IMPORTED,
            explainable=explainable, auto_activate=False,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
