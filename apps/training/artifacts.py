"""Model version folders in storage, and their local copies for ONNX Runtime."""
import posixpath
import shutil
import uuid
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, default_storage


def artifact_prefix_new(*, project_slug: str) -> str:
    """Return a fresh storage folder for a version: never reused, so never overwritten."""
    return posixpath.join(settings.RIIM_MODELS_PREFIX, project_slug, uuid.uuid4().hex)


def artifacts_upload(*, local_dir: Path, prefix: str) -> dict:
    """Copy every file of a local model folder into storage under prefix; return {relative name: size}."""
    files = {}
    for path in sorted(p for p in Path(local_dir).rglob("*") if p.is_file()):
        relative = path.relative_to(local_dir).as_posix()
        with path.open("rb") as fh:
            stored = default_storage.save(posixpath.join(prefix, relative), File(fh))
        if stored != posixpath.join(prefix, relative):  # storage renamed it: the folder was not fresh
            raise RuntimeError(f"artifact {relative} would overwrite an existing file")
        files[relative] = path.stat().st_size
    return files


def artifacts_delete(*, prefix: str, files) -> None:
    for relative in files:
        default_storage.delete(posixpath.join(prefix, relative))


def artifacts_local_dir(version) -> Path:
    """Return a local folder holding the version's files (the storage folder itself on local disk)."""
    if isinstance(default_storage, FileSystemStorage):
        return Path(default_storage.path(version.artifact_dir))
    # Object storage: download once per version into the cache (versions are immutable).
    target = Path(settings.RIIM_MODEL_CACHE_DIR) / f"{version.project_id}-{version.pk}-{Path(version.artifact_dir).name}"
    if (target / ".complete").exists():
        return target
    partial = target.with_name(target.name + f".part-{uuid.uuid4().hex[:6]}")
    for relative in version.files:
        destination = partial / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        with default_storage.open(posixpath.join(version.artifact_dir, relative), "rb") as src, destination.open("wb") as dst:
            shutil.copyfileobj(src, dst)
    (partial / ".complete").write_text("ok")
    try:
        partial.rename(target)
    except OSError:  # another process finished first
        shutil.rmtree(partial, ignore_errors=True)
    return target


def image_local_path(image, scratch_dir: Path) -> Path:
    """Return a local path of an image file (downloaded into scratch_dir on object storage)."""
    if isinstance(default_storage, FileSystemStorage):
        return Path(default_storage.path(image.file.name))
    target = Path(scratch_dir) / f"{image.pk}{Path(image.file.name).suffix}"
    with default_storage.open(image.file.name, "rb") as src, target.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    return target
