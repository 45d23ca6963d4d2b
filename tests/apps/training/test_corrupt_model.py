"""A corrupt published model file: the version is refused with its reason and the previous one keeps answering."""
import shutil

import pytest
from django.utils.html import escape
from rest_framework.test import APIClient

from apps.labeling.services import label_assign
from apps.training.models import ModelVersion
from apps.training.services import VERSION_FILE_BROKEN, model_version_publish
from tests.fixtures.models import class_pictures


@pytest.mark.parametrize("holdout_photos", [0, 6], ids=["no test photos yet", "labeled test photos"])
def test_corrupt_model_file_keeps_the_previous_version(classroom, publish, stored_image, trained_model_dir, tmp_path,
                                                       client, holdout_photos):
    """v2's model.onnx is garbage: v2 is failed with the reason, v1 stays active and answers, the teacher reads why."""
    v1 = publish()
    for index, (label, raw) in enumerate(class_pictures(holdout_photos // 2, seed=5)):
        label_assign(image=stored_image(raw, f"{index}.png"), author=classroom.teacher, label=label)
    broken = tmp_path / "broken"
    shutil.copytree(trained_model_dir, broken)
    (broken / "model.onnx").write_bytes(b"not an ONNX model" * 64)

    v2 = model_version_publish(project=classroom.project, local_dir=broken, user=classroom.teacher, source="trained")

    assert v2.status == ModelVersion.Status.FAILED
    assert v2.problem.startswith(str(VERSION_FILE_BROKEN).split("%(")[0] + "2")  # the reader's language, the number
    v1.refresh_from_db()
    assert v1.status == ModelVersion.Status.ACTIVE
    api = APIClient()
    api.force_authenticate(classroom.student)
    photo = stored_image(class_pictures(1, seed=9)[0][1], "nueva.png")
    answer = api.get(f"/api/v1/images/{photo.pk}/analysis/")
    assert answer.status_code == 200 and answer.json()["model_version"] == v1.number
    api.force_authenticate(classroom.teacher)
    assert api.post(f"/api/v1/model-versions/{v2.pk}/activate/").status_code == 400
    client.force_login(classroom.teacher)
    page = client.get(f"/projects/{classroom.project.slug}/versions/").content.decode()
    assert escape(v2.problem) in page
