"""The lab reads the shared frozen-backbone cache (apps.embeddings) for its embedding experiments."""
import numpy as np
import pytest

from apps.embeddings.selectors import project_embeddings
from apps.lab.features import project_backbone_features
from tests.apps.training.test_quick_runs import _project


@pytest.mark.django_db
def test_lab_features_come_from_the_shared_cache(weights):
    """Every labeled photo appears once, with the cache's own embedding and its mirror's, labels and splits."""
    project = _project(10)
    features = project_backbone_features(project)
    cache = project_embeddings(project, fill=False, backbone=None)
    assert len(features.image_ids) == 10 and features.embeddings["original"].shape == cache.x.shape
    np.testing.assert_array_equal(features.embeddings["original"], cache.x)
    np.testing.assert_array_equal(features.embeddings["flip"], cache.x_mirror)
    assert set(features.labels) == {0, 1} and set(features.splits) <= {"train", "validation", "test"}


@pytest.mark.django_db
def test_lab_without_weights_falls_back(settings, tmp_path):
    """No pretrained weights: None, so the runner uses the version's own embeddings as before."""
    settings.RIIM_WEIGHTS_DIR = str(tmp_path)
    settings.RIIM_TRAINING_MIN_IMAGES_PER_CLASS = 4
    assert project_backbone_features(_project(4)) is None
