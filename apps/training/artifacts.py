"""Model version folders in storage, and their local copies for ONNX Runtime."""
import os
import posixpath
import shutil
import uuid
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
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
    name = f"{version.project_id}-{version.pk}-{Path(version.artifact_dir).name}"
    return folder_local_dir(prefix=version.artifact_dir, files=version.files, name=name)


def folder_local_dir(*, prefix: str, files: dict, name: str) -> Path:
    """Return a local folder holding the stored files under prefix ({relative name: size, or None if unknown}).

    On object storage they are downloaded once into the model cache under ``name``. Files are never
    rewritten but a folder can be completed (an autoencoder added later, with its card): a file the
    copy lacks, or whose size differs from the one listed, is fetched again.
    """
    if isinstance(default_storage, FileSystemStorage):
        return Path(default_storage.path(prefix))
    target = Path(settings.RIIM_MODEL_CACHE_DIR) / name
    if (target / ".complete").exists():
        for relative, size in files.items():
            local = target / relative
            if not local.is_file() or (size is not None and local.stat().st_size != size):
                _download(posixpath.join(prefix, relative), local)
        return target
    partial = target.with_name(target.name + f".part-{uuid.uuid4().hex[:6]}")
    for relative in files:
        destination = partial / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        with default_storage.open(posixpath.join(prefix, relative), "rb") as src, destination.open("wb") as dst:
            shutil.copyfileobj(src, dst)
    (partial / ".complete").write_text("ok")
    try:
        partial.rename(target)
    except OSError:  # another process finished first
        shutil.rmtree(partial, ignore_errors=True)
    return target


def _download(name: str, destination: Path) -> None:
    """Copy one stored file to a local path, replacing it whole (a reader never sees half of it)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(f".{destination.name}.{uuid.uuid4().hex[:6]}")
    with default_storage.open(name, "rb") as src, partial.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    os.replace(partial, destination)


def artifact_add(*, name: str, source: str) -> int:
    """Copy a stored file to a new name inside a version folder; return its size.

    The name must be new to the folder's listing; a file left there by an interrupted copy is replaced.
    """
    if default_storage.exists(name):
        default_storage.delete(name)
    with default_storage.open(source, "rb") as fh:
        stored = default_storage.save(name, File(fh))
    if stored != name:  # storage renamed it: someone else wrote the same name meanwhile
        default_storage.delete(stored)
        raise RuntimeError(f"artifact {name} would overwrite an existing file")
    return default_storage.size(name)


def artifact_replace(*, name: str, content: bytes) -> None:
    """Replace a stored file whole (the card a later addition completes): readers see the old or the new one."""
    if isinstance(default_storage, FileSystemStorage):
        path = Path(default_storage.path(name))
        partial = path.with_name(f".{path.name}.{uuid.uuid4().hex[:6]}")
        partial.write_bytes(content)
        os.replace(partial, path)
    elif getattr(default_storage, "file_overwrite", False):  # object storage: one upload replaces the object
        default_storage.save(name, ContentFile(content))
    else:
        default_storage.delete(name)
        default_storage.save(name, ContentFile(content))


def image_local_path(image, scratch_dir: Path) -> Path:
    """Return a local path of an image file (downloaded into scratch_dir on object storage)."""
    if isinstance(default_storage, FileSystemStorage):
        return Path(default_storage.path(image.file.name))
    target = Path(scratch_dir) / f"{image.pk}{Path(image.file.name).suffix}"
    with default_storage.open(image.file.name, "rb") as src, target.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    return target
