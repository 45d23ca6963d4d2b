"""The labeling queue: never a photo the user answered, validation and test photos only in their random share, unknown
strategies refused."""
import pytest

from apps.accounts import roles
from apps.inference.models import Analysis
from apps.labeling.models import Label
from apps.labeling.queue import REASONS, labeling_queue_ranked
from apps.labeling.services import label_assign, label_undo
from apps.projects.models import Membership
from apps.training.models import ModelVersion
from apps.uploads.models import Image
from apps.uploads.services import image_upload_create
from ml.active_learning import STRATEGIES
from tests.factories import UserFactory, image_bytes

pytestmark = pytest.mark.django_db


def _images(world, n, holdout=()):
    images = [
        image_upload_create(project=world.project, uploader=world.teacher, raw=image_bytes((7 * i, 100, 200 - i)), name=f"{i}.jpg")
        for i in range(n)
    ]
    for i, image in enumerate(images):  # the split comes from the hash: fix it so the test knows it
        Image.objects.filter(pk=image.pk).update(split=("test" if i % 2 else "validation") if i in holdout else "train")
    return images


def _url(world, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"/api/v1/projects/{world.project.slug}/labeling-queue/?{query}"


def _active_version_with_predictions(world, probabilities):
    """An active version whose stored analyses give each image the first class's probability."""
    version = ModelVersion.objects.create(project=world.project, number=1, status=ModelVersion.Status.ACTIVE,
                                          artifact_dir="models/queue/v1", metadata={"classes": world.project.classes})
    first, second = world.project.classes[:2]
    for image, p in probabilities.items():
        Analysis.objects.create(image=image, model_version=version, label=first if p >= 0.5 else second,
                                confidence=max(p, 1 - p),
                                predictions=[{"label": first, "probability": p}, {"label": second, "probability": 1 - p}])
    return version


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_queue_never_returns_a_photo_the_user_answered(world, api_as, strategy):
    """Labeled and «none of these» photos leave the user's queue; an undone answer puts the photo back."""
    images = _images(world, 8, holdout={1, 5})
    cls = world.project.classes[0]
    label_assign(image=images[0], author=world.student, label=cls)
    label_assign(image=images[1], author=world.student, label=Label.NONE_OF_THESE)
    label_assign(image=images[2], author=world.student, label=cls)
    label_undo(image=images[2], author=world.student)
    label_assign(image=images[3], author=world.teacher, label=cls)  # someone else's label keeps it in the queue
    body = api_as(world.student).get(_url(world, strategy=strategy, limit=50)).json()
    ids = [row["image"] for row in body["results"]]
    assert body["strategy"] == strategy
    assert images[0].pk not in ids and images[1].pk not in ids
    assert sorted(ids) == sorted(i.pk for i in images[2:])
    assert all(isinstance(row["score"], float) and row["reason"] for row in body["results"])


def test_holdout_photos_are_never_chosen_by_uncertainty(world, api_as):
    """The model doubts most on the held-out photos, yet they come only in their random share, never as «uncertain»."""
    images = _images(world, 10, holdout={0, 1, 2})
    certainty = {image: (0.5 if i < 3 else 0.95 - 0.05 * i) for i, image in enumerate(images)}
    _active_version_with_predictions(world, certainty)
    body = api_as(world.student).get(_url(world, strategy="uncertainty", limit=10)).json()
    rows = {row["image"]: row for row in body["results"]}
    holdout = {i.pk for i in images[:3]}
    assert len(rows) == 10
    assert all(rows[pk]["reason"] == str(REASONS["holdout"]) for pk in holdout)
    uncertain = [row["image"] for row in body["results"] if row["reason"] == str(REASONS["uncertainty"])]
    assert uncertain and not holdout & set(uncertain)
    # Among the training photos the most doubtful (the last one: 0.5 margin furthest from certain) comes first.
    assert uncertain[0] == images[-1].pk
    # The held-out share follows the project's fractions: the first slots go to training photos.
    assert body["results"][0]["image"] not in holdout


def test_photos_short_of_labels_come_first_for_other_students(world, api_as):
    """With two labels per photo, a photo one classmate labeled comes before unlabeled ones."""
    world.project.labels_per_image = 2
    world.project.save()
    images = _images(world, 6)
    classmate = UserFactory(role=roles.STUDENT)
    Membership.objects.create(project=world.project, user=classmate, role="student")
    label_assign(image=images[4], author=classmate, label=world.project.classes[0])
    body = api_as(world.student).get(_url(world, strategy="random")).json()
    assert body["results"][0]["image"] == images[4].pk
    assert body["results"][0]["reason"] == str(REASONS["needs_labels"])
    # With one label per photo the same photo is done and goes last.
    world.project.labels_per_image = 1
    world.project.save()
    body = api_as(world.student).get(_url(world, strategy="random")).json()
    assert body["results"][-1]["image"] == images[4].pk


def test_disagreement_puts_conflicting_photos_first(world):
    images = _images(world, 5)
    a, b = (UserFactory(role=roles.STUDENT) for _ in range(2))
    for user in (a, b):
        Membership.objects.create(project=world.project, user=user, role="student")
    first, second = world.project.classes[:2]
    label_assign(image=images[3], author=a, label=first)
    label_assign(image=images[3], author=b, label=second)
    label_assign(image=images[1], author=a, label=first)
    label_assign(image=images[1], author=b, label=first)
    items = labeling_queue_ranked(project=world.project, user=world.student, strategy="disagreement", limit=None)
    assert items[0].image_id == images[3].pk and items[0].reason_code == "disagreement"


def test_unknown_strategy_is_a_400_naming_the_valid_ones(world, api_as):
    _images(world, 2)
    response = api_as(world.student).get(_url(world, strategy="smartest"))
    assert response.status_code == 400
    assert all(name in response.json()["detail"] for name in STRATEGIES)
    assert api_as(world.student).get(_url(world, limit=0)).status_code == 400
    assert api_as(world.student).get(_url(world, limit="many")).status_code == 400


def test_empty_project_gives_empty_results_with_the_project_strategy(world, api_as):
    body = api_as(world.student).get(_url(world)).json()
    assert body == {"strategy": world.project.labeling_strategy, "results": []}


def test_labeling_page_opens_on_the_queue_head_and_says_why(world, client):
    images = _images(world, 4)
    world.project.labeling_strategy = "disagreement"
    world.project.save()
    a, b = (UserFactory(role=roles.STUDENT) for _ in range(2))
    for user in (a, b):
        Membership.objects.create(project=world.project, user=user, role="student")
    label_assign(image=images[2], author=a, label=world.project.classes[0])
    label_assign(image=images[2], author=b, label=world.project.classes[1])
    client.force_login(world.student)
    page = client.get(f"/label/{world.project.slug}/")
    assert page.status_code == 200
    assert page.context["image"].pk == images[2].pk
    assert page.context["reason"] == str(REASONS["disagreement"])
    assert page.context["next_unlabeled_id"] != images[2].pk
