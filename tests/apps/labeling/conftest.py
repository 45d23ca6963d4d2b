"""A project whose embeddings cache is filled with synthetic, separable vectors.

The cache rows are written directly under the fingerprint of a weights file placed in
RIIM_WEIGHTS_DIR; reading them never loads the weights.
"""
import numpy as np
import pytest

from apps.accounts import roles
from apps.embeddings.backbones import project_backbone
from apps.embeddings.models import ImageEmbedding
from apps.labeling.services import label_assign
from apps.projects.models import Membership
from apps.uploads.models import Image
from apps.uploads.services import image_upload_create
from ml.embeddings import to_bytes
from tests.factories import UserFactory, image_bytes

TRAIN, TEST, FLIPPED = 60, 16, (3, 17, 40, 55)
FLIPPED_TEST = (62, 71)  # the student's mistakes on sealed test photos: never judged by the model


@pytest.fixture
def embedded(world, settings, tmp_path):
    """76 photos of two classes with separable embeddings; a student labels them all, 4 training and 2 test photos
    wrongly (students label test photos too: the queue hands them out in their share)."""
    settings.RIIM_WEIGHTS_DIR = str(tmp_path)
    uploaded = [image_upload_create(project=world.project, uploader=world.teacher,
                                    raw=image_bytes((i, 255 - i, (7 * i) % 256)), name=f"{i}.jpg")
                for i in range(TRAIN + TEST)]
    # The stand-in weights come after the uploads: each upload's embedding task would otherwise try to
    # export this file as a network (in a child process, once per photo) before failing.
    (tmp_path / "mobilenet_2_5_224_tf_no_top.h5").write_bytes(b"stand-in weights: only hashed, never loaded")
    fingerprint = project_backbone(world.project).fingerprint
    rng = np.random.default_rng(0)
    first, second = world.project.classes[:2]
    student = UserFactory(username="rotuladora", role=roles.STUDENT)
    Membership.objects.create(project=world.project, user=student, role="student")
    images, truth = [], []
    for i, image in enumerate(uploaded):
        cls = i % 2
        Image.objects.filter(pk=image.pk).update(split="train" if i < TRAIN else "test")
        vector = rng.normal(0, 1, 32) + (3.0 if cls else -3.0) * np.eye(32)[0]
        ImageEmbedding.objects.create(image=image, fingerprint=fingerprint, vector=to_bytes(vector), mirror=to_bytes(vector))
        given = cls if i not in FLIPPED + FLIPPED_TEST else 1 - cls
        label_assign(image=image, author=student, label=(first, second)[given])
        images.append(image)
        truth.append(cls)
    return images, truth, student
