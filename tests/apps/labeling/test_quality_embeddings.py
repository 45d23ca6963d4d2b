"""With the embeddings cache filled: suspect labels found (never on test photos), the quick model's queue and
curve, test photos never ranked by uncertainty."""
import pytest

from apps.labeling.quality import label_quality, labeling_curve
from apps.labeling.queue import labeling_queue_ranked
from apps.labeling.services import label_assign, label_undo
from apps.projects.models import Membership
from tests.apps.labeling.conftest import FLIPPED, FLIPPED_TEST, TEST, TRAIN
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_flipped_student_labels_are_the_suspects_but_never_on_test_photos(world, embedded, api_as):
    """The student's wrong training labels are suspects; their wrong test labels are not judged by the model at all
    (correcting only the labels it disagrees with would move the test towards it)."""
    images, truth, _ = embedded
    quality = label_quality(world.project)
    found = {row.image_id for row in quality.suspects}
    flipped = {images[i].pk for i in FLIPPED}
    assert flipped <= found and len(found - flipped) <= 2
    assert not found & {image.pk for image in images[TRAIN:]}
    first = quality.suspects[0]
    assert first.suggested == world.project.classes[truth[images.index(next(i for i in images if i.pk == first.image_id))]]
    body = api_as(world.teacher).get(f"/api/v1/projects/{world.project.slug}/label-quality/").json()
    assert {row["image"] for row in body["suspect_labels"]} == found


def test_teacher_decision_on_the_review_page_removes_the_suspect(world, embedded, api_as):
    """Accepting the suggestion records the teacher's label, which then counts and is never a suspect again."""
    images, truth, _ = embedded
    target = images[FLIPPED[0]]
    suggested = world.project.classes[truth[FLIPPED[0]]]
    assert api_as(world.teacher).post(f"/api/v1/images/{target.pk}/labels/", {"label": suggested}, format="json").status_code == 201
    target.refresh_from_db()
    assert (target.label, target.label_source) == (suggested, "teacher")
    assert target.pk not in {row.image_id for row in label_quality(world.project).suspects}


def test_disagreements_on_test_photos_reach_the_teacher_without_the_models_opinion(world, embedded, client):
    """A second student answers a test photo differently: the review page lists it with both answers, and no
    suggestion from the model."""
    images, truth, _ = embedded
    other = UserFactory(username="segunda", role="student")
    Membership.objects.create(project=world.project, user=other, role="student")
    target = images[FLIPPED_TEST[0]]
    label_assign(image=target, author=other, label=world.project.classes[truth[FLIPPED_TEST[0]]])
    quality = label_quality(world.project)
    assert [row["image_id"] for row in quality.test_disagreements] == [target.pk]
    assert sorted(quality.test_disagreements[0]["answers"].values()) == [1, 1]
    client.force_login(world.teacher)
    page = client.get(f"/label/{world.project.slug}/review/").content.decode()
    table = page[page.index('id="test-disagreements"'):]
    assert f"?image={target.pk}" in table and "data-suggested" not in table.split("</table>")[0]


def test_uncertainty_from_the_quick_model_never_picks_a_test_photo(world, embedded):
    """Unlabeled for a new student: the most doubtful training photos come by uncertainty, test photos only in
    their random share; the fit that ranks never reads a test label."""
    images, _, _ = embedded
    newcomer = UserFactory(username="nueva", role="student")
    Membership.objects.create(project=world.project, user=newcomer, role="student")
    items = labeling_queue_ranked(project=world.project, user=newcomer, strategy="uncertainty", limit=None)
    test = {i.pk for i in images[TRAIN:]}
    by_uncertainty = [item for item in items if item.reason_code == "uncertainty"]
    assert by_uncertainty and not {item.image_id for item in by_uncertainty} & test
    assert {item.reason_code for item in items if item.image_id in test} == {"holdout"}


def test_labeling_curve_and_the_effect_of_fixing_suspects(world, embedded, client):
    """The curve is graded on the test photos; fixing the suspects (wrong training labels) does not lower it."""
    curve = labeling_curve(world.project)
    assert curve.test_n == TEST and curve.points[-1]["labels"] == TRAIN
    assert curve.suspects >= len(FLIPPED) and curve.fixed is not None and curve.fixed >= curve.now
    client.force_login(world.teacher)
    page = client.get(f"/lab/labeling/?project={world.project.slug}")
    assert page.status_code == 200 and b'id="quick-curve"' in page.content and b'id="fix-effect"' in page.content


def test_every_strategy_on_embeddings_orders_each_photo_once(world, embedded):
    images, _, student = embedded
    newcomer = UserFactory(username="nueva", role="student")
    Membership.objects.create(project=world.project, user=newcomer, role="student")
    for strategy in ("mix", "diverse", "anomaly", "uncertainty", "disagreement", "random"):
        items = labeling_queue_ranked(project=world.project, user=newcomer, strategy=strategy, limit=None)
        ids = [item.image_id for item in items]
        assert sorted(ids) == [i.pk for i in images], strategy  # every photo once, whatever the order
        assert not labeling_queue_ranked(project=world.project, user=student, strategy=strategy, limit=None)
    for image in images[:10]:  # ten training photos nobody has labeled any more
        label_undo(image=image, author=student)
    items = labeling_queue_ranked(project=world.project, user=world.student, strategy="diverse", limit=10)
    diverse = [item.image_id for item in items if item.reason_code == "diverse"]
    assert diverse and set(diverse) <= {i.pk for i in images[:10]}


def test_review_page_lists_the_suspects_with_thumbnail_and_suggestion(world, embedded, client):
    images, _, _ = embedded
    client.force_login(world.teacher)
    page = client.get(f"/label/{world.project.slug}/review/")
    assert page.status_code == 200
    for i in FLIPPED:
        assert f'data-image="{images[i].pk}"'.encode() in page.content
        assert f"/api/v1/images/{images[i].pk}/thumbnail/".encode() in page.content
    assert b'id="suspects"' in page.content and b"label_review.js" in page.content
