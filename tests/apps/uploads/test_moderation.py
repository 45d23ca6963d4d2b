"""The moderation page: thumbnails filtered by student, label and unusual; hide and delete."""
import pytest
from rest_framework.test import APIClient

from apps.accounts import roles
from apps.history.selectors import my_uploads
from apps.inference.models import Analysis
from apps.labeling.selectors import labeling_queue
from apps.training.models import ModelVersion
from apps.training.services import dataset_snapshot
from apps.uploads.models import Image, ImageDeletion
from apps.uploads.services import image_upload_create
from tests.factories import ProjectFactory, UserFactory, image_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def classroom():
    ana, beto = UserFactory(username="ana", role=roles.STUDENT), UserFactory(username="beto", role=roles.STUDENT)
    project = ProjectFactory(members=[(ana, "student"), (beto, "student")])
    version = ModelVersion.objects.create(project=project, number=1, artifact_dir="models/x")
    images = {}
    for i, (who, label, unusual) in enumerate(
        [(ana, "gato", False), (ana, "perro", True), (beto, "gato", True), (beto, "", False)]
    ):
        image = image_upload_create(project=project, uploader=who, raw=image_bytes(color=(i * 40, 9, 9)), name=f"{i}.jpg")
        Image.objects.filter(pk=image.pk).update(label=label)
        Analysis.objects.create(image=image, model_version=version, label="gato", confidence=0.6, is_anomaly=unusual)
        images[i] = image
    return project, images, ana


def _shown(client, project, **filters):
    response = client.get("/upload/moderate/", {"project": project.slug, **filters})
    assert response.status_code == 200
    return {image.pk for image in response.context["page"].object_list}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [({}, {0, 1, 2, 3}), ({"student": "ana"}, {0, 1}), ({"label": "gato"}, {0, 2}), ({"label": "-"}, {3}),
     ({"unusual": "1"}, {1, 2}), ({"student": "beto", "unusual": "1"}, {2})],
    ids=["all", "student", "label", "unlabeled", "unusual", "student-and-unusual"],
)
def test_filters_by_student_label_and_unusual(classroom, client, filters, expected):
    """Each filter narrows the thumbnails; unusual reads the latest analysis's anomaly flag."""
    project, images, _ = classroom
    client.force_login(project.owner)
    assert _shown(client, project, **filters) == {images[i].pk for i in expected}


@pytest.mark.parametrize("filters", [{"student": "nadie"}, {"label": "caballo"}], ids=["student", "label"])
def test_unknown_filter_values_are_a_clear_400(classroom, client, filters):
    """An unknown student or class is refused with a message, not ignored."""
    project, _, _ = classroom
    client.force_login(project.owner)
    response = client.get("/upload/moderate/", {"project": project.slug, **filters})
    assert response.status_code == 400


def test_hidden_photos_leave_students_views_the_queue_and_training(classroom, client):
    """Hiding removes a photo from the students' API list, the labeling queue and the training snapshot."""
    project, images, ana = classroom
    client.force_login(project.owner)
    response = client.post("/upload/moderate/", {"project": project.slug, "action": "hide", "image": [images[0].pk]})
    assert response.status_code == 302
    assert Image.objects.get(pk=images[0].pk).hidden
    student = APIClient()
    student.force_authenticate(ana)
    listed = {row["id"] for row in student.get("/api/v1/images/", {"project": project.slug}).json()["results"]}
    assert images[0].pk not in listed and images[1].pk in listed
    assert student.get(f"/api/v1/images/{images[0].pk}/").status_code == 404
    assert images[0].pk not in {image.pk for image in labeling_queue(project=project, user=ana)}
    assert images[0].pk not in {row[0] for row in dataset_snapshot(project=project)}
    assert images[0].pk not in {image.pk for image in my_uploads(user=ana)}
    teacher = APIClient()
    teacher.force_authenticate(project.owner)
    assert teacher.get(f"/api/v1/images/{images[0].pk}/").status_code == 200  # the teacher still sees it

    client.post("/upload/moderate/", {"project": project.slug, "action": "show", "image": [images[0].pk]})
    assert not Image.objects.get(pk=images[0].pk).hidden


def test_delete_asks_first_then_deletes_through_the_service(classroom, client, django_capture_on_commit_callbacks):
    """Delete shows a confirmation; confirming removes the photos and records the teacher."""
    project, images, _ = classroom
    client.force_login(project.owner)
    chosen = [images[1].pk, images[2].pk]
    confirm = client.post("/upload/moderate/", {"project": project.slug, "action": "delete", "image": chosen})
    assert confirm.status_code == 200 and Image.objects.count() == 4
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post("/upload/moderate/", {"project": project.slug, "action": "delete", "image": chosen,
                                                 "confirm": "yes"})
    assert done.status_code == 302
    assert not Image.objects.filter(pk__in=chosen).exists()
    record = ImageDeletion.objects.get()
    assert record.actor == project.owner and record.reason == "moderation" and record.image_ids == sorted(chosen)


def test_students_cannot_moderate(classroom, client):
    """A student gets 403 on the page and cannot hide photos."""
    project, images, ana = classroom
    client.force_login(ana)
    assert client.get("/upload/moderate/", {"project": project.slug}).status_code == 403
    assert client.post("/upload/moderate/", {"project": project.slug, "action": "hide",
                                              "image": [images[0].pk]}).status_code == 403
    assert not Image.objects.get(pk=images[0].pk).hidden


def test_another_teacher_cannot_moderate_this_project(classroom, client):
    """A teacher of another project gets 404 for this one."""
    project, _, _ = classroom
    other = ProjectFactory()
    client.force_login(other.owner)
    assert client.get("/upload/moderate/", {"project": project.slug}).status_code == 404
