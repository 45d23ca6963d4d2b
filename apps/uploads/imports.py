"""Import many labeled photos at once: a zip (one folder per class, or flat), loose files, or a folder on disk.

One service for the browser (``ImageImport`` rows run by a worker on the ``default`` queue) and
``manage.py import_images``. Every photo goes through the upload rules (size before reading,
bounded decoding, duplicates by the bytes' hash) and gets an ``import`` label. A zip is read
entry by entry, never extracted: nothing is written anywhere but the stored, re-encoded photos.
"""
import json
import posixpath
import stat
import unicodedata
import uuid
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.common.exceptions import ApplicationError, ConflictError, PermissionDeniedError
from apps.labeling.models import Label
from apps.labeling.services import label_assign
from apps.projects.access import can_manage
from apps.uploads.models import ImageImport
from apps.uploads.services import image_upload_create

CANNOT_IMPORT = _("Only the project's teacher can import photos.")
NO_FILES = _("Choose a zip file or some photos to import (form field “file”).")
NOT_A_ZIP = _("The file is not a zip archive we can read.")
ZIP_TOO_LARGE = _("The zip is too large (the limit is %(limit)s MB).")
TOO_MANY_ENTRIES = _("The zip holds too many files (%(count)s; the limit is %(limit)s).")
BAD_CLASSES = _("“classes” must be a JSON object mapping each folder name to one of the project's classes.")
UNKNOWN_CLASS = _("“%(name)s” is not a class of this project.")
CLASS_AND_CLASSES = _("Send either “class” or “classes”, not both.")
# Per entry: why a file in the zip was not imported.
REFUSED_TRAVERSAL = _("its path leaves the zip's folder")
REFUSED_SYMLINK = _("it is a link, not a file")
REFUSED_NESTED_ZIP = _("it is a zip inside the zip")
REFUSED_ENCRYPTED = _("it is encrypted")
REFUSED_RATIO = _("it is compressed suspiciously well (possible zip bomb)")
REFUSED_TOO_LARGE = _("it is larger than the upload limit")
REFUSED_TOTAL = _("the zip's files add up to more than the import limit")
REFUSED_SIZE_LIE = _("it is larger than its entry in the zip says")
REFUSED_NO_CLASS = _("its folder “%(folder)s” is not mapped to a class")
IMPORT_FAILED = _("The import stopped: %(error)s")

SPOOL_PREFIX = "imports"  # storage folder of uploads waiting for the worker; removed when the import ends
ZIP_FILE = "upload.zip"
# Written by archivers and operating systems, never photos: skipped without a word.
_SYSTEM_NAMES = {"__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini"}
_PROGRESS_EVERY = 10  # entries between progress writes: the bar moves without a write per photo

# Folder names a class may go by: English, Spanish (with and without accents), and the Italian of
# the Animals-10 Kaggle set. A folder and a class match when both are in one group.
SYNONYMS = [
    {"cat", "cats", "gato", "gatos", "gatto", "kitten"},
    {"dog", "dogs", "perro", "perros", "cane", "puppy"},
    {"bird", "birds", "pajaro", "pajaros", "ave", "aves", "uccello"},
    {"horse", "horses", "caballo", "caballos", "cavallo"},
    {"cow", "cows", "vaca", "vacas", "mucca"},
    {"sheep", "oveja", "ovejas", "pecora"},
    {"chicken", "chickens", "hen", "gallina", "gallinas", "pollo"},
    {"elephant", "elephants", "elefante", "elefantes"},
    {"butterfly", "butterflies", "mariposa", "mariposas", "farfalla"},
    {"spider", "spiders", "arana", "aranas", "ragno"},
    {"squirrel", "squirrels", "ardilla", "ardillas", "scoiattolo"},
    {"fish", "pez", "peces", "pescado"},
    {"frog", "frogs", "rana", "ranas"},
    {"rabbit", "rabbits", "conejo", "conejos"},
    {"mouse", "mice", "raton", "ratones"},
    {"deer", "ciervo", "ciervos", "venado", "venados"},
    {"car", "cars", "automobile", "coche", "coches", "auto", "autos", "carro", "carros"},
    {"truck", "trucks", "camion", "camiones"},
    {"airplane", "airplanes", "plane", "planes", "avion", "aviones"},
    {"ship", "ships", "boat", "boats", "barco", "barcos"},
    {"flower", "flowers", "flor", "flores"},
    {"rose", "roses", "rosa", "rosas"},
    {"daisy", "margarita", "margaritas"},
    {"sunflower", "sunflowers", "girasol", "girasoles"},
    {"tulip", "tulips", "tulipan", "tulipanes"},
    {"dandelion", "dandelions", "diente de leon"},
    {"tree", "trees", "arbol", "arboles"},
    {"leaf", "leaves", "hoja", "hojas"},
    {"apple", "apples", "manzana", "manzanas"},
    {"banana", "bananas", "platano", "platanos"},
    {"orange", "oranges", "naranja", "naranjas"},
    {"person", "people", "persona", "personas"},
    {"face", "faces", "cara", "caras"},
    {"paper", "papel"},
    {"plastic", "plastico"},
    {"glass", "vidrio", "cristal"},
    {"cardboard", "carton"},
    {"trash", "garbage", "basura"},
    {"healthy", "sano", "sana", "sanos", "sanas"},
    {"sick", "diseased", "enfermo", "enferma", "enfermos", "enfermas"},
    {"mask", "with_mask", "con mascarilla", "mascarilla"},
    {"no_mask", "without_mask", "sin mascarilla"},
]


def _normal(name: str) -> str:
    """Lower case, no accents, spaces for - and _: how names are compared."""
    plain = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode("ascii")
    return " ".join(plain.lower().replace("-", " ").replace("_", " ").split())


def class_for_folder(folder: str, classes: list[str]) -> tuple[str | None, str | None]:
    """Propose the project class for a folder name: (class, "exact" | "synonym"), or (None, None) to ask."""
    wanted = _normal(folder)
    for name in classes:
        if _normal(name) == wanted:
            return name, "exact"
    for group in SYNONYMS:
        normal_group = {_normal(word) for word in group}
        if wanted in normal_group:
            for name in classes:
                if _normal(name) in normal_group:
                    return name, "synonym"
    return None, None


@dataclass(frozen=True)
class Entry:
    """One file of an import: its name in the archive, its class folder and why it is refused (if it is)."""

    name: str
    folder: str  # the immediate parent folder; "" at the top level
    size: int
    refused: str | None = None


@dataclass
class ImportReport:
    imported: dict = field(default_factory=dict)  # class -> count
    duplicates: int = 0
    skipped: list = field(default_factory=list)  # [{"name", "reason"}]

    @property
    def total(self):
        return sum(self.imported.values())


class _Source:
    """Files to import, read one at a time; a zip on storage, loose files on storage, or a folder on disk."""

    def entries(self) -> list[Entry]:
        raise NotImplementedError

    def read(self, entry: Entry, limit: int) -> bytes:
        raise NotImplementedError

    def close(self):
        pass


def _is_system(parts) -> bool:
    return any(part in _SYSTEM_NAMES or (part.startswith(".") and part not in (".", "..")) for part in parts)


class ZipSource(_Source):
    """A zip read through its central directory; entries are checked before a byte of them is inflated."""

    def __init__(self, fileobj):
        try:
            self.zip = zipfile.ZipFile(fileobj)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise ApplicationError(NOT_A_ZIP) from exc
        files = [info for info in self.zip.infolist() if not info.is_dir()]
        if len(files) > settings.RIIM_IMPORT_MAX_ENTRIES:
            raise ApplicationError(TOO_MANY_ENTRIES % {"count": len(files), "limit": settings.RIIM_IMPORT_MAX_ENTRIES})
        self.infos = {}
        for info in files:
            self.infos.setdefault(info.filename, info)

    def entries(self) -> list[Entry]:
        out = []
        total = 0
        for info in self.infos.values():
            name = info.filename.replace("\\", "/")
            path = PurePosixPath(name)
            if _is_system(path.parts):
                continue
            refused = _zip_entry_refusal(info, name)
            if refused is None:
                total += info.file_size
                if total > settings.RIIM_IMPORT_MAX_TOTAL_BYTES:
                    refused = REFUSED_TOTAL
            folder = path.parent.name if len(path.parts) > 1 else ""
            out.append(Entry(name=name, folder=folder, size=info.file_size, refused=refused and str(refused)))
        return out

    def read(self, entry: Entry, limit: int) -> bytes:
        with self.zip.open(self.infos[entry.name]) as fh:
            raw = fh.read(limit + 1)
        if len(raw) > limit:
            raise ApplicationError(REFUSED_SIZE_LIE)
        return raw

    def close(self):
        self.zip.close()


def _zip_entry_refusal(info: zipfile.ZipInfo, name: str):
    path = PurePosixPath(name)
    if name.startswith("/") or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        return REFUSED_TRAVERSAL
    if stat.S_ISLNK(info.external_attr >> 16):
        return REFUSED_SYMLINK
    if info.flag_bits & 0x1:
        return REFUSED_ENCRYPTED
    if path.suffix.lower() in {".zip", ".jar", ".7z", ".rar", ".gz", ".tar", ".tgz"}:
        return REFUSED_NESTED_ZIP
    if info.file_size > settings.RIIM_UPLOAD_MAX_BYTES:
        return REFUSED_TOO_LARGE
    if info.file_size > 1024 * 1024 and info.file_size > settings.RIIM_IMPORT_MAX_RATIO * max(info.compress_size, 1):
        return REFUSED_RATIO
    return None


class DirectorySource(_Source):
    """A folder on disk (``manage.py import_images``): links are refused, nothing outside it is followed."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def entries(self) -> list[Entry]:
        out = []
        for path in sorted(self.root.rglob("*")):
            relative = path.relative_to(self.root)
            if _is_system(relative.parts) or (path.is_dir() and not path.is_symlink()):
                continue
            refused = None
            if path.is_symlink():
                refused = REFUSED_SYMLINK
            elif path.suffix.lower() in {".zip", ".7z", ".rar", ".gz", ".tar", ".tgz"}:
                refused = REFUSED_NESTED_ZIP
            elif path.stat().st_size > settings.RIIM_UPLOAD_MAX_BYTES:
                refused = REFUSED_TOO_LARGE
            folder = relative.parent.name if len(relative.parts) > 1 else ""
            size = 0 if path.is_symlink() else path.stat().st_size
            out.append(Entry(name=relative.as_posix(), folder=folder, size=size, refused=refused and str(refused)))
        return out

    def read(self, entry: Entry, limit: int) -> bytes:
        with open(self.root / entry.name, "rb") as fh:
            return fh.read(limit + 1)


class LooseFilesSource(_Source):
    """Photos uploaded side by side (Teachable Machine's per-class samples), spooled under one storage folder."""

    def __init__(self, prefix: str, names: list[str]):
        self.prefix = prefix
        self.names = names  # stored name -> original name, in order

    def entries(self) -> list[Entry]:
        return [Entry(name=original, folder="", size=default_storage.size(stored)) for stored, original in self.names]

    def read(self, entry: Entry, limit: int) -> bytes:
        stored = next(stored for stored, original in self.names if original == entry.name)
        with default_storage.open(stored, "rb") as fh:
            return fh.read(limit + 1)


def import_resolve(entries: list[Entry], *, classes: list[str], mapping=None, single_class=None):
    """Return [(entry, class or None, refusal or None)]: which class each file goes to, and why not."""
    out = []
    for entry in entries:
        if entry.refused:
            out.append((entry, None, entry.refused))
            continue
        if single_class:
            target = single_class
        elif mapping is not None:
            target = mapping.get(entry.folder) or None
        else:
            target = class_for_folder(entry.folder, classes)[0] if entry.folder else None
        if target is None:
            out.append((entry, None, str(REFUSED_NO_CLASS % {"folder": entry.folder or "/"})))
        else:
            out.append((entry, target, None))
    return out


def import_preview(source: _Source, *, classes: list[str]) -> dict:
    """Return the folders of an import with their file counts and a proposed class each; nothing is stored."""
    entries = source.entries()
    counts = Counter(entry.folder for entry in entries if not entry.refused)
    folders = []
    for folder, count in sorted(counts.items()):
        proposed, how = class_for_folder(folder, classes) if folder else (None, None)
        folders.append({"name": folder, "files": count, "proposed": proposed, "match": how})
    refused = [{"name": entry.name, "reason": entry.refused} for entry in entries if entry.refused]
    return {"classes": list(classes), "folders": folders, "files": sum(counts.values()), "refused": refused}


def images_import(*, project, user, source: _Source, mapping=None, single_class=None, progress=None) -> ImportReport:
    """Store every acceptable file of the source with an `import` label; report what was refused and why."""
    report = ImportReport()
    limit = settings.RIIM_UPLOAD_MAX_BYTES
    resolved = import_resolve(source.entries(), classes=project.classes, mapping=mapping, single_class=single_class)
    for done, (entry, target, refusal) in enumerate(resolved, start=1):
        if refusal is None:
            try:
                raw = source.read(entry, limit)
                if len(raw) > limit:
                    raise ApplicationError(REFUSED_SIZE_LIE)
                image = image_upload_create(project=project, uploader=user, raw=raw, name=posixpath.basename(entry.name))
            except ConflictError:
                report.duplicates += 1
            except ApplicationError as exc:
                report.skipped.append({"name": entry.name, "reason": str(exc.message)})
            else:
                label_assign(image=image, author=user, label=target, source=Label.Source.IMPORT)
                report.imported[target] = report.imported.get(target, 0) + 1
        else:
            report.skipped.append({"name": entry.name, "reason": refusal})
        if progress is not None:
            progress(done, len(resolved), report)
    return report


# --- The browser's imports: spooled to storage, run by a worker ---------------------------------


def import_classes_parse(*, project, classes_json=None, single_class=None):
    """Check the optional mapping (JSON text or dict) and single class against the project's classes."""
    if classes_json not in (None, "") and single_class:
        raise ApplicationError(CLASS_AND_CLASSES)
    if single_class:
        if single_class not in project.classes:
            raise ApplicationError(UNKNOWN_CLASS % {"name": single_class})
        return None, single_class
    if classes_json in (None, ""):
        return None, None
    try:
        mapping = json.loads(classes_json) if isinstance(classes_json, str) else classes_json
    except ValueError as exc:
        raise ApplicationError(BAD_CLASSES) from exc
    if not isinstance(mapping, dict) or not all(isinstance(k, str) for k in mapping):
        raise ApplicationError(BAD_CLASSES)
    for value in mapping.values():
        if value in (None, ""):
            continue  # a folder deliberately left out
        if not isinstance(value, str):
            raise ApplicationError(BAD_CLASSES)
        if value not in project.classes:
            raise ApplicationError(UNKNOWN_CLASS % {"name": value})
    return {k: v for k, v in mapping.items() if v}, None


def _check_size(upload):
    limit = settings.RIIM_IMPORT_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        raise ApplicationError(ZIP_TOO_LARGE % {"limit": round(limit / 1024 / 1024, 1)})


def _is_zip(upload) -> bool:
    upload.seek(0)
    is_zip = zipfile.is_zipfile(upload)
    upload.seek(0)
    return is_zip


def import_preview_upload(*, project, user, upload) -> dict:
    """Preview a zip the teacher chose: its folders, a proposed class for each, and the refused entries."""
    if not can_manage(user=user, project=project):
        raise PermissionDeniedError(CANNOT_IMPORT)
    _check_size(upload)
    if not _is_zip(upload):
        # One loose photo: nothing to map, the page asks for its class.
        return {"classes": list(project.classes), "folders": [{"name": "", "files": 1, "proposed": None, "match": None}],
                "files": 1, "refused": []}
    source = ZipSource(upload)
    try:
        return import_preview(source, classes=project.classes)
    finally:
        source.close()


def image_import_create(*, project, user, uploads: list, classes_json=None, single_class=None) -> ImageImport:
    """Spool the upload to storage and queue its import; refuse bad requests before anything is stored."""
    if not can_manage(user=user, project=project):
        raise PermissionDeniedError(CANNOT_IMPORT)
    if not uploads:
        raise ApplicationError(NO_FILES)
    mapping, single_class = import_classes_parse(project=project, classes_json=classes_json, single_class=single_class)
    prefix = posixpath.join(SPOOL_PREFIX, uuid.uuid4().hex)
    if len(uploads) == 1:
        _check_size(uploads[0])  # from its size, before a byte of it is read
    if len(uploads) == 1 and _is_zip(uploads[0]):
        ZipSource(uploads[0]).close()  # whole-zip limits answer now, not in the worker
        uploads[0].seek(0)
        default_storage.save(posixpath.join(prefix, ZIP_FILE), uploads[0])
        loose = []
    else:
        if sum(u.size or 0 for u in uploads) > settings.RIIM_IMPORT_MAX_BYTES:
            limit = settings.RIIM_IMPORT_MAX_BYTES
            raise ApplicationError(ZIP_TOO_LARGE % {"limit": round(limit / 1024 / 1024, 1)})
        if len(uploads) > settings.RIIM_IMPORT_MAX_ENTRIES:
            raise ApplicationError(TOO_MANY_ENTRIES % {"count": len(uploads), "limit": settings.RIIM_IMPORT_MAX_ENTRIES})
        loose = []
        for i, upload in enumerate(uploads):
            original = PurePosixPath(str(upload.name).replace("\\", "/")).name or f"photo-{i}"
            loose.append([default_storage.save(posixpath.join(prefix, "files", f"{i:05d}"), upload), original])
    with transaction.atomic():
        image_import = ImageImport.objects.create(
            project=project,
            requested_by=user,
            source=prefix,
            classes=mapping or {},
            single_class=single_class or "",
            files=loose,
        )
        transaction.on_commit(lambda: image_import_send(import_id=image_import.pk), robust=True)
    return image_import


def image_import_send(*, import_id: int) -> None:
    """Hand a queued import to the broker (after its request, or again from the sweep)."""
    from apps.uploads.tasks import image_import_run_task

    image_import_run_task.delay(import_id)


def _open_source(image_import: ImageImport) -> tuple[_Source, object]:
    if image_import.files:
        return LooseFilesSource(image_import.source, [tuple(pair) for pair in image_import.files]), None
    handle = default_storage.open(posixpath.join(image_import.source, ZIP_FILE), "rb")
    return ZipSource(handle), handle


def image_import_run(*, image_import: ImageImport) -> ImageImport:
    """Run a queued import (the worker's task): import every entry, keep the summary, remove the spooled upload."""
    claimed = ImageImport.objects.filter(pk=image_import.pk, status__in=ImageImport.ACTIVE_STATUSES).update(
        status=ImageImport.Status.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return image_import  # already finished: a redelivered task does nothing
    image_import.refresh_from_db()
    single_class = image_import.single_class or None
    mapping = image_import.classes or None

    def progress(done, total, report):
        if done % _PROGRESS_EVERY == 0 or done == total:
            ImageImport.objects.filter(pk=image_import.pk).update(
                total=total, processed=done, imported=report.total, duplicates=report.duplicates,
                skipped=report.skipped, updated_at=timezone.now(),
            )

    handle = None
    try:
        source, handle = _open_source(image_import)
        try:
            report = images_import(
                project=image_import.project, user=image_import.requested_by, source=source,
                mapping=mapping, single_class=single_class, progress=progress,
            )
        finally:
            source.close()
    except Exception as exc:
        message = exc.message if isinstance(exc, ApplicationError) else exc.__class__.__name__
        ImageImport.objects.filter(pk=image_import.pk).update(
            status=ImageImport.Status.FAILED, error_message=str(IMPORT_FAILED % {"error": message}),
            finished_at=timezone.now(),
        )
    else:
        ImageImport.objects.filter(pk=image_import.pk).update(
            status=ImageImport.Status.SUCCEEDED, imported=report.total, duplicates=report.duplicates,
            skipped=report.skipped, finished_at=timezone.now(),
        )
    finally:
        if handle is not None:
            handle.close()
        _spool_remove(image_import)
    image_import.refresh_from_db()
    return image_import


def _spool_remove(image_import: ImageImport) -> None:
    """Remove the spooled upload: the zip or the loose files, then their folders where the storage has them."""
    names = [pair[0] for pair in image_import.files]
    names.append(posixpath.join(image_import.source, ZIP_FILE))
    for name in names:
        if default_storage.exists(name):
            default_storage.delete(name)
    location = getattr(default_storage, "location", None)
    if location:
        for folder in (Path(location) / image_import.source / "files", Path(location) / image_import.source):
            try:
                folder.rmdir()
            except OSError:
                pass


def image_folder_classes(root: Path) -> list[str]:
    """Return the class names of an ImageFolder layout: its non-hidden sub-folders, sorted."""
    return sorted(p.name.lower() for p in Path(root).iterdir() if p.is_dir() and not p.name.startswith("."))


def source_open_path(path: Path) -> _Source:
    """Open a folder or a zip file on disk for ``manage.py import_images``."""
    path = Path(path)
    if path.is_dir():
        return DirectorySource(path)
    return ZipSource(str(path))  # zipfile opens and closes the file itself
