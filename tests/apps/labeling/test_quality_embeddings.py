"""With the embeddings cache filled: suspect labels found, the quick model's queue and curve, holdout never by uncertainty.

The cache rows are written directly (synthetic, separable vectors) under the fingerprint of a
weights file placed in RIIM_WEIGHTS_DIR; reading them never loads the weights.
"""
import numpy as np
import pytest

from apps.accounts import roles
from apps.embeddings.backbones import embedding_backbone
from apps.embeddings.models import ImageEmbedding
from apps.labeling.quality import label_quality, labeling_curve
from apps.labeling.queue import REASONS, labeling_queue_ranked
from apps.labeling.services import label_assign, label_undo
from apps.projects.models import Membership
from apps.uploads.models import Image
from apps.uploads.services import image_upload_create
from ml.embeddings import to_bytes
from tests.factories import UserFactory, image_bytes

pytestmark = pytest.mark.django_db
TRAIN, HOLDOUT, FLIPPED = 60, 16, (3, 17, 40, 55)


@pytest.fixture
def embedded(world, settings, tmp_path):
    """76 photos of two classes with separable embeddings; a student labels the training ones, 4 of them wrongly."""
    settings.RIIM_WEIGHTS_DIR = str(tmp_path)
    (tmp_path / "mobilenet_2_5_224_tf_no_top.h5").write_bytes(b"stand-in weights: only hashed, never loaded")
    fingerprint = embedding_backbone().fingerprint
    rng = np.random.default_rng(0)
    first, second = world.project.classes[:2]
    student = UserFactory(username="rotuladora", role=roles.STUDENT)
    Membership.objects.create(project=world.project, user=student, role="student")
    images, truth = [], []
    for i in range(TRAIN + HOLDOUT):
        image = image_upload_create(project=world.project, uploader=world.teacher,
                                    raw=image_bytes((i, 255 - i, (7 * i) % 256)), name=f"{i}.jpg")
        cls = i % 2
        Image.objects.filter(pk=image.pk).update(split="train" if i < TRAIN else "holdout")
        vector = rng.normal(0, 1, 32) + (3.0 if cls else -3.0) * np.eye(32)[0]
        ImageEmbedding.objects.create(image=image, fingerprint=fingerprint, vector=to_bytes(vector), mirror=to_bytes(vector))
        given = cls if i not in FLIPPED else 1 - cls
        label_assign(image=image, author=student if i < TRAIN else world.teacher, label=(first, second)[given])
        images.append(image)
        truth.append(cls)
    return images, truth, student


def test_flipped_student_labels_are_the_suspects(world, embedded, api_as):
    images, truth, _ = embedded
    quality = label_quality(world.project)
    found = {row.image_id for row in quality.suspects}
    flipped = {images[i].pk for i in FLIPPED}
    assert flipped <= found and len(found - flipped) <= 2
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


def test_uncertainty_from_the_quick_model_never_picks_holdout(world, embedded):
    """Unlabeled for this student: the most doubtful training photos come by uncertainty, holdout only in its share."""
    images, _, _ = embedded
    items = labeling_queue_ranked(project=world.project, user=world.student, strategy="uncertainty", limit=None)
    holdout = {i.pk for i in images[TRAIN:]}
    by_uncertainty = [item for item in items if item.reason_code == "uncertainty"]
    assert by_uncertainty and not {item.image_id for item in by_uncertainty} & holdout
    assert {item.reason_code for item in items if item.image_id in holdout} <= {"holdout", "needs_labels"}
    assert str(REASONS["holdout"])


def test_labeling_curve_and_the_effect_of_fixing_suspects(world, embedded, client):
    curve = labeling_curve(world.project)
    assert curve.holdout_n == HOLDOUT and curve.points[-1]["labels"] == TRAIN
    assert curve.suspects >= len(FLIPPED) and curve.fixed is not None and curve.fixed >= curve.now - 0.07
    client.force_login(world.teacher)
    page = client.get(f"/lab/labeling/?project={world.project.slug}")
    assert page.status_code == 200 and b'id="quick-curve"' in page.content and b'id="fix-effect"' in page.content


def test_every_strategy_on_embeddings_orders_each_photo_once(world, embedded):
    images, _, student = embedded
    for strategy in ("mix", "diverse", "anomaly", "uncertainty", "disagreement", "random"):
        items = labeling_queue_ranked(project=world.project, user=student, strategy=strategy, limit=None)
        ids = [item.image_id for item in items]
        assert sorted(ids) == [i.pk for i in images[TRAIN:]], strategy  # the student labeled every training photo
    for image in images[:10]:  # ten training photos nobody has labeled any more
        label_undo(image=image, author=student)
    items = labeling_queue_ranked(project=world.project, user=world.student, strategy="diverse", limit=10)
    diverse = [item.image_id for item in items if item.reason_code == "diverse"]
    assert diverse and set(diverse) <= {i.pk for i in images[:10]}
