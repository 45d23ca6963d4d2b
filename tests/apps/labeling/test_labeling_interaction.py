"""The labeling page's answers: "none of these" is recorded but never trained on, and undo reaches the last answer."""
import pytest

from apps.accounts import roles
from apps.labeling.models import Label
from apps.labeling.services import label_assign
from apps.projects.models import Membership
from apps.training import evaluation
from apps.training.services import dataset_snapshot
from apps.uploads.services import image_upload_create
from tests.factories import UserFactory, image_bytes

NONE = Label.NONE_OF_THESE


def _images(world, n):
    return [
        image_upload_create(project=world.project, uploader=world.student, raw=image_bytes((10 * i, 90, 40)), name=f"{i}.jpg")
        for i in range(n)
    ]


def _students(world, n):
    users = [UserFactory(role=roles.STUDENT) for _ in range(n)]
    for user in users:
        Membership.objects.create(project=world.project, user=user, role="student")
    return users


@pytest.mark.django_db
def test_none_of_these_counts_by_the_rule_but_is_never_trained_on(world):
    """Two students say «none of these», one names a class: the answer that counts is «none», kept out of training."""
    image, other = _images(world, 2)
    a, b, c = _students(world, 3)
    cls = world.project.classes[0]
    label_assign(image=image, author=a, label=NONE)
    label_assign(image=image, author=b, label=NONE)
    label_assign(image=image, author=c, label=cls)
    label_assign(image=other, author=a, label=cls)
    image.refresh_from_db()
    assert image.label == NONE and image.label_source == Label.Source.STUDENT
    assert [row[0] for row in dataset_snapshot(project=world.project)] == [other.pk]
    for split in ("test", "validation"):
        image.split = split
        image.save(update_fields=["split"])
        assert evaluation.test_images(world.project) == [] and evaluation.validation_images(world.project) == []


@pytest.mark.django_db
def test_none_of_these_through_the_api(world, api_as):
    (image,) = _images(world, 1)
    response = api_as(world.student).post(f"/api/v1/images/{image.pk}/labels/", {"label": NONE}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["counted_label"] == NONE
    # Anything else outside the classes is still refused.
    response = api_as(world.student).post(f"/api/v1/images/{image.pk}/labels/", {"label": "_other"}, format="json")
    assert response.status_code == 400


@pytest.mark.django_db
def test_project_undo_reaches_the_last_answer_not_the_photo_on_screen(world, api_as):
    """Label photo A, then photo B: undo withdraws B's answer (the latest act) and leaves A's."""
    first, second = _images(world, 2)
    cls, other = world.project.classes[:2]
    client = api_as(world.student)
    assert client.post(f"/api/v1/images/{first.pk}/labels/", {"label": cls}, format="json").status_code == 201
    assert client.post(f"/api/v1/images/{second.pk}/labels/", {"label": other}, format="json").status_code == 201
    response = client.post(f"/api/v1/projects/{world.project.slug}/labels/undo/")
    assert response.status_code == 201
    assert response.json()["image"] == second.pk and response.json()["label"] == ""
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.label == cls and second.label == ""


@pytest.mark.django_db
def test_project_undo_with_nothing_to_undo_and_for_other_roles(world, api_as):
    url = f"/api/v1/projects/{world.project.slug}/labels/undo/"
    assert api_as(world.student).post(url).status_code == 204
    assert api_as(world.grader).post(url).status_code == 403
    assert api_as(world.outsider).post(url).status_code == 404
    assert api_as(None).post(url).status_code in (401, 403)
