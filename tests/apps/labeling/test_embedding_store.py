"""Each process keeps its projects' embedding matrices, reads only the rows added since, and stays within its cap."""
import numpy as np
import pytest

from apps.embeddings.models import ImageEmbedding
from apps.embeddings.selectors import project_embeddings
from apps.labeling.embedding_store import EmbeddingStore
from apps.uploads.services import image_upload_create
from ml.embeddings import to_bytes
from tests.factories import ProjectFactory, image_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def weights(settings, tmp_path):
    settings.RIIM_WEIGHTS_DIR = str(tmp_path)
    (tmp_path / "mobilenet_2_5_224_tf_no_top.h5").write_bytes(b"stand-in weights: only hashed, never loaded")


def _embedded(project, n, first=0, dim=64):
    fingerprint = project_embeddings(project, fill=False).fingerprint
    images = []
    for i in range(first, first + n):
        image = image_upload_create(project=project, uploader=project.owner, raw=image_bytes((i % 256, (7 * i) % 256, 90)),
                                    name=f"{i}.jpg")
        vector = np.full(dim, float(i))
        ImageEmbedding.objects.create(image=image, fingerprint=fingerprint, vector=to_bytes(vector),
                                      mirror=to_bytes(-vector))
        images.append(image)
    return images


def test_new_rows_are_added_without_reading_the_project_again(weights, django_assert_max_num_queries):
    """After the first read, a new photo's embedding is the only row read; the matrix stays in key order."""
    store = EmbeddingStore()
    project = ProjectFactory()
    images = _embedded(project, 5)
    first = store.get(project)
    assert list(first.image_ids) == [i.pk for i in images] and store.full_reads == 1
    added = _embedded(project, 2, first=5)
    again = store.get(project)
    assert store.full_reads == 1  # only the two new rows were read
    assert list(again.image_ids) == [i.pk for i in images + added]
    assert np.allclose(again.x[-1], 6.0) and np.allclose(again.x_mirror[-1], -6.0)
    with django_assert_max_num_queries(1):  # nothing new: one query for the newest row id
        assert store.get(project) is again


def test_projects_beyond_the_cap_are_dropped_least_recently_used_first(weights, settings):
    """With room for about one project, reading a second drops the first; reading it again is a full read."""
    settings.RIIM_EMBEDDINGS_MEMORY_MB = 0.05  # each project below is about 33 kB
    store = EmbeddingStore()
    a, b = ProjectFactory(), ProjectFactory()
    _embedded(a, 64)
    _embedded(b, 64, first=64)
    store.get(a)
    store.get(b)
    assert store.memory_mb() <= settings.RIIM_EMBEDDINGS_MEMORY_MB and store.full_reads == 2
    store.get(b)
    assert store.full_reads == 2  # b is still held
    store.get(a)
    assert store.full_reads == 3  # a had been dropped
