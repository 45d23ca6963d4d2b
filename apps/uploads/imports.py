"""Import an ImageFolder directory (one sub-folder per class) as labeled images."""
from dataclasses import dataclass, field
from pathlib import Path

from apps.common.exceptions import ApplicationError, ConflictError
from apps.labeling.models import Label
from apps.labeling.services import label_assign
from apps.uploads.services import image_upload_create


@dataclass
class ImportReport:
    imported: dict = field(default_factory=dict)  # class -> count
    duplicates: int = 0
    skipped: list = field(default_factory=list)  # (path, reason)

    @property
    def total(self):
        return sum(self.imported.values())


def image_folder_classes(root: Path) -> list[str]:
    """Return the class names of an ImageFolder layout: its non-hidden sub-folders, sorted."""
    return sorted(p.name.lower() for p in Path(root).iterdir() if p.is_dir() and not p.name.startswith("."))


def image_folder_import(*, project, user, root: Path) -> ImportReport:
    """Store every image under root/<class>/ with an `import` label; bad files are skipped and reported."""
    report = ImportReport()
    for class_dir in sorted(p for p in Path(root).iterdir() if p.is_dir() and not p.name.startswith(".")):
        label = class_dir.name.lower()
        if label not in project.classes:
            report.skipped.append((str(class_dir), f"class '{label}' is not in the project"))
            continue
        report.imported.setdefault(label, 0)
        for path in sorted(p for p in class_dir.rglob("*") if p.is_file() and not p.name.startswith(".")):
            try:
                image = image_upload_create(project=project, uploader=user, raw=path.read_bytes(), name=path.name)
            except ConflictError:
                report.duplicates += 1
                continue
            except ApplicationError as exc:
                report.skipped.append((str(path), str(exc.message)))
                continue
            label_assign(image=image, author=user, label=label, source=Label.Source.IMPORT)
            report.imported[label] += 1
    return report
