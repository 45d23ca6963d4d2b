"""The deletion service removes a photo with every derived copy, all or nothing."""
import os
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage

from apps.accounts import roles
from apps.embeddings.models import ImageEmbedding
from apps.inference.models import Analysis
from apps.lab.models import LabExperiment
from apps.labeling.models import Label
from apps.labeling.services import label_assign
from apps.training.models import ModelVersion
from apps.uploads import deletion
from apps.uploads.deletion import images_delete
from apps.uploads.models import Image, ImageDeletion
from apps.uploads.processing import image_process
from apps.uploads.services import image_upload_create
from tests.factories import ProjectFactory, UserFactory, image_bytes

pytestmark = pytest.mark.django_db


def _media_files() -> set[str]:
    root = Path(settings.MEDIA_ROOT)
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def _rows_pointing_at(image_ids) -> dict:
    """Walk every table with a foreign key to Image: {model.field: rows still naming a deleted image}."""
    from django.apps import apps

    left = {}
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if getattr(field, "many_to_one", False) and field.related_model is Image and field.concrete:
                count = model.objects.filter(**{f"{field.name}_id__in": image_ids}).count()
                if count:
                    left[f"{model._meta.label}.{field.name}"] = count
    return left


def _photo_with_copies(project, student, color):
    """Store a photo with a thumbnail, a label, an analysis with a heatmap and a lab result showing it."""
    image = image_upload_create(project=project, uploader=student, raw=image_bytes(color=color), name="gato.jpg")
    image_process(image, worker_info={})  # the thumbnail, as the worker makes it
    label_assign(image=image, author=student, label="gato", source=Label.Source.STUDENT)
    version, _ = ModelVersion.objects.get_or_create(project=project, number=1, defaults={"artifact_dir": "models/x"})
    heatmap = default_storage.save(f"heatmaps/{image.pk}.png", ContentFile(b"png"))
    Analysis.objects.create(image=image, model_version=version, label="gato", confidence=0.9, heatmap=heatmap)
    ImageEmbedding.objects.create(image=image, fingerprint="f" * 16, vector=b"\0" * 8, mirror=b"\0" * 8)
    return image


@pytest.fixture(autouse=True)
def _model_cache(settings, tmp_path):
    settings.RIIM_MODEL_CACHE_DIR = tmp_path / "model-cache"


@pytest.fixture
def classroom():
    student = UserFactory(role=roles.STUDENT)
    project = ProjectFactory(members=[(student, "student")])
    return project, student


def test_deleting_photos_leaves_nothing_in_media_or_the_tables(classroom, django_capture_on_commit_callbacks):
    """File, thumbnail, labels, analyses, heatmaps and lab pictures all go; the rest of the lab result stays."""
    project, student = classroom
    images = [_photo_with_copies(project, student, (200, 10 * i, 30)) for i in range(3)]
    kept = images[2]
    points = [{"id": img.pk, "x": 0.1, "thumb": f"/api/v1/images/{img.pk}/thumbnail/"} for img in images]
    clusters = LabExperiment.objects.create(project=project, kind="clusters", result={"k": 2, "points": points})
    compression = LabExperiment.objects.create(
        project=project, kind="compression", result={"image": {"id": images[0].pk, "thumb": "t"}, "original": "data:"}
    )
    kept_files = {kept.file.name, kept.thumbnail.name, kept.analyses.get().heatmap.name}
    teacher = project.owner

    lab_cache = Path(settings.RIIM_MODEL_CACHE_DIR) / "lab" / f"features-{project.pk}-1.npz"
    other_cache = lab_cache.with_name(f"features-{project.pk + 1}-1.npz")
    for path in (lab_cache, other_cache):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"npz")

    with django_capture_on_commit_callbacks(execute=True):
        report = images_delete(images=Image.objects.filter(pk__in=[images[0].pk, images[1].pk]), actor=teacher)

    assert (report.images, report.labels, report.analyses, report.files, report.lab_results) == (2, 2, 2, 6, 2)
    assert report.embeddings == 2 and list(ImageEmbedding.objects.values_list("image_id", flat=True)) == [kept.pk]
    assert _media_files() == kept_files  # nothing of the deleted photos, nothing left in the trash
    assert not lab_cache.exists() and other_cache.exists()  # the lab's embeddings of this project only
    assert list(Image.objects.values_list("pk", flat=True)) == [kept.pk]
    assert Label.objects.filter(image_id__in=report.image_ids).count() == 0
    assert _rows_pointing_at(report.image_ids) == {}
    assert Analysis.objects.filter(image_id__in=report.image_ids).count() == 0
    clusters.refresh_from_db()
    compression.refresh_from_db()
    assert [p["id"] for p in clusters.result["points"]] == [kept.pk] and clusters.result["k"] == 2
    assert compression.result == {}
    record = ImageDeletion.objects.get()
    assert record.actor == teacher and record.image_ids == report.image_ids
    assert record.uploaders == [student.username] and record.counts["images"] == 2


class _FailingStorage(FileSystemStorage):
    """A file system storage whose nth delete raises, as a disk or object store can."""

    def __init__(self, fail_at, **kwargs):
        super().__init__(**kwargs)
        self.fail_at = fail_at
        self.deletes = 0

    def delete(self, name):
        self.deletes += 1
        if self.deletes == self.fail_at:
            raise OSError("disk gone")
        super().delete(name)


@pytest.mark.parametrize("fail_at", [1, 3, 5])
def test_a_failure_in_the_middle_deletes_nothing(classroom, monkeypatch, fail_at):
    """A storage failing on the nth delete leaves every row and every file as before (and no trash)."""
    project, student = classroom
    images = [_photo_with_copies(project, student, (10 * i, 200, 30)) for i in range(2)]
    before = _media_files()
    storage = _FailingStorage(fail_at, location=settings.MEDIA_ROOT)
    monkeypatch.setattr(deletion, "default_storage", storage)

    with pytest.raises(OSError):
        images_delete(images=images, actor=project.owner)

    assert storage.deletes >= fail_at  # the failure did happen among the originals' deletes
    assert _media_files() == before
    assert Image.objects.count() == 2 and Label.objects.count() == 2 and Analysis.objects.count() == 2
    assert not ImageDeletion.objects.exists()
    for image in Image.objects.all():
        assert default_storage.open(image.file.name).read()  # restored files are readable


def test_admin_delete_goes_through_the_service(classroom, client, django_capture_on_commit_callbacks):
    """The admin's bulk action removes files too and records the admin as the actor."""
    project, student = classroom
    image = _photo_with_copies(project, student, (1, 2, 3))
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/uploads/image/",
            {"action": "delete_with_derived_copies", "_selected_action": [image.pk]},
        )
    assert response.status_code == 302
    assert not Image.objects.exists()
    assert _media_files() == set()
    assert ImageDeletion.objects.get().actor == admin


def test_old_trash_copies_are_swept(settings):
    """A trash copy left by a failed cleanup is removed once it is old; a fresh one (a deletion in flight) stays."""
    old = default_storage.save("deletion-trash/a/images/x.jpg", ContentFile(b"x"))
    fresh = default_storage.save("deletion-trash/b/images/y.jpg", ContentFile(b"y"))
    past = time.time() - deletion.TRASH_MAX_AGE - 60
    os.utime(Path(settings.MEDIA_ROOT) / old, (past, past))
    assert deletion.trash_sweep() == 1
    assert _media_files() == {fresh}
