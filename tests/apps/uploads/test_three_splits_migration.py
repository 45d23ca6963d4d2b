"""The data migration to three shares: holdout photos become the sealed test share, the validation share is carved
from the training photos by the hash rule new uploads follow, and nothing is deleted."""
import hashlib

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from apps.uploads.splits import image_split_for

BEFORE = [("projects", "0007_project_backbone"), ("uploads", "0006_spanish_verbose_names")]
AFTER = [("projects", "0008_test_and_validation_fractions"), ("uploads", "0007_three_splits")]


def _migrate(targets=None):
    """Migrate to ``targets`` (None: every app's latest) and return the historical models there."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    targets = targets or executor.loader.graph.leaf_nodes()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_holdout_becomes_test_and_validation_is_carved_by_the_hash_rule():
    old = _migrate(BEFORE)
    User = old.get_model("accounts", "User")
    Project = old.get_model("projects", "Project")
    Image = old.get_model("uploads", "Image")
    teacher = User.objects.create(username="profe-migracion")
    project = Project.objects.create(owner=teacher, name="Viejo", slug="viejo", classes=["a", "b"],
                                     holdout_fraction=0.18, join_code="MIGRA1")
    rows = []
    for i in range(200):
        sha = hashlib.sha256(f"photo {i}".encode()).hexdigest()
        position = int(sha[:8], 16) / 0x1_0000_0000
        rows.append(Image.objects.create(project=project, uploader=teacher, original_name=f"{i}.jpg", file=f"x/{i}.jpg",
                                         sha256=sha, width=8, height=8, format="JPEG", label="a" if i % 2 else "",
                                         split="holdout" if position < 0.18 else "train"))
    before = {row.pk: row.split for row in rows}

    new = _migrate(AFTER)
    migrated = new.get_model("projects", "Project").objects.get(pk=project.pk)
    assert (migrated.test_fraction, migrated.validation_fraction) == (0.18, 0.15)
    after = dict(new.get_model("uploads", "Image").objects.filter(project_id=project.pk).values_list("pk", "split"))
    assert after.keys() == before.keys()  # nothing deleted
    assert all(after[pk] == "test" for pk, split in before.items() if split == "holdout")
    carved = [pk for pk, split in before.items() if split == "train" and after[pk] == "validation"]
    assert 10 < len(carved) < 50  # about 15 % of 200
    # Old photos now follow the very rule new uploads follow.
    shas = dict(new.get_model("uploads", "Image").objects.filter(project_id=project.pk).values_list("pk", "sha256"))
    assert all(after[pk] == image_split_for(sha256=shas[pk], project=migrated) for pk in after)

    _migrate(BEFORE)  # and back: validation returns to training, test to holdout
    restored = dict(old.get_model("uploads", "Image").objects.filter(project_id=project.pk).values_list("pk", "split"))
    assert restored == before
    _migrate()  # every app back at its latest migration for the tests that follow
