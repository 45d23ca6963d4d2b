"""Label quality of a project: alpha as the library computes it, each student's agreement and gold accuracy, who sees what."""
import krippendorff
import numpy as np
import pytest

from apps.accounts import roles
from apps.labeling.models import Label
from apps.labeling.quality import label_quality
from apps.labeling.services import label_assign
from apps.projects.models import Membership
from apps.uploads.services import image_upload_create
from tests.factories import UserFactory, image_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def labeled(world):
    """Four photos; the teacher labels two (gold); three students answer as in ``ANSWERS``."""
    images = [image_upload_create(project=world.project, uploader=world.teacher, raw=image_bytes((40 * i, 9, 9)), name=f"{i}.jpg")
              for i in range(4)]
    students = [world.student]
    for name in ("beto", "carla"):
        user = UserFactory(username=name, role=roles.STUDENT)
        Membership.objects.create(project=world.project, user=user, role="student")
        students.append(user)
    a, b = world.project.classes[:2]
    answers = {  # student -> answer per photo (None: no answer)
        0: [a, a, b, Label.NONE_OF_THESE],
        1: [a, b, b, None],
        2: [a, a, b, a],
    }
    for s, row in answers.items():
        for image, answer in zip(images, row, strict=True):
            if answer:
                label_assign(image=image, author=students[s], label=answer)
    label_assign(image=images[0], author=world.teacher, label=a)
    label_assign(image=images[1], author=world.teacher, label=b)
    return images, students


def test_alpha_matches_the_library_on_the_project_table(world, labeled):
    """Students and teacher are the coders, photos the units, «none of these» a category."""
    quality = label_quality(world.project)
    # Coders in author-id order (student, teacher, beto, carla by creation): the same table by hand.
    a, b, none = 0, 1, len(world.project.classes)
    table = np.array([
        [a, a, b, none],  # alumna
        [a, b, np.nan, np.nan],  # profe (teacher)
        [a, b, b, np.nan],  # beto
        [a, a, b, a],  # carla
    ])
    assert quality.alpha == pytest.approx(krippendorff.alpha(reliability_data=table, level_of_measurement="nominal"))
    assert quality.images_with_multiple_labels == 4
    assert set(quality.alpha_per_class) == set(world.project.classes)


def test_student_rows_agreement_and_gold_accuracy(world, labeled):
    quality = label_quality(world.project)
    rows = {row.username: row for row in quality.students}
    assert set(rows) == {"alumna", "beto", "carla"}
    assert rows["alumna"].labels == 4 and rows["beto"].labels == 3
    # Gold photos 0 (a) and 1 (b): alumna a,a → 1/2; beto a,b → 2/2; carla a,a → 1/2.
    assert rows["alumna"].gold_accuracy == 0.5 and rows["beto"].gold_accuracy == 1.0
    assert rows["beto"].agreement is not None and 0.0 <= rows["beto"].agreement <= 1.0


def test_a_student_label_never_overrides_the_teacher_gold_label(world, labeled):
    images, students = labeled
    images[1].refresh_from_db()
    assert (images[1].label, images[1].label_source) == (world.project.classes[1], Label.Source.TEACHER)


def test_who_sees_what(world, labeled, api_as):
    """Teachers and graders get every student and the suspects; a student only their own row; outsiders nothing."""
    url = f"/api/v1/projects/{world.project.slug}/label-quality/"
    for user in (world.teacher, world.grader):
        body = api_as(user).get(url).json()
        assert set(body) == {"alpha", "images_with_multiple_labels", "students", "suspect_labels"}
        assert {row["username"] for row in body["students"]} == {"alumna", "beto", "carla"}
        assert set(body["students"][0]) == {"username", "labels", "agreement", "gold_accuracy"}
    body = api_as(world.student).get(url).json()
    assert [row["username"] for row in body["students"]] == ["alumna"] and body["suspect_labels"] == []
    assert api_as(world.outsider).get(url).status_code == 404


def test_project_with_no_labels(world, api_as):
    body = api_as(world.teacher).get(f"/api/v1/projects/{world.project.slug}/label-quality/").json()
    assert body["alpha"] is None and body["images_with_multiple_labels"] == 0 and body["suspect_labels"] == []


def test_review_page_for_the_teacher_only_and_its_settings(world, labeled, client):
    url = f"/label/{world.project.slug}/review/"
    client.force_login(world.student)
    assert client.get(url).status_code == 404
    assert url.encode() not in client.get(f"/label/{world.project.slug}/").content
    client.force_login(world.teacher)
    page = client.get(url)
    assert page.status_code == 200 and b"Krippendorff" in page.content
    assert url.encode() in client.get(f"/label/{world.project.slug}/").content  # linked from the labeling page
    response = client.post(url, {"labeling_strategy": "uncertainty", "labels_per_image": 2})
    assert response.status_code == 302
    world.project.refresh_from_db()
    assert (world.project.labeling_strategy, world.project.labels_per_image) == ("uncertainty", 2)
    page = client.post(url, {"labeling_strategy": "psychic", "labels_per_image": 4})
    assert page.status_code == 200 and page.context["form"].errors.keys() == {"labeling_strategy", "labels_per_image"}
