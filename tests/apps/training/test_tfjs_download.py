"""A trained version's TF.js export: served by the files endpoint, zipped on the versions page, absent ones explained."""
import io
import json
import zipfile

import pytest

from ml.runtime import TFJS_FILES


@pytest.mark.django_db
def test_files_endpoint_serves_the_tfjs_export(classroom, publish, api_as):
    """/files/tfjs/model.json, weights.bin and metadata.json come back; the labels are the project's classes in order."""
    version = publish()
    client = api_as(classroom.student)
    model = client.get(f"/api/v1/model-versions/{version.pk}/files/tfjs/model.json")
    assert model.status_code == 200
    document = json.loads(b"".join(model.streaming_content))
    assert document["format"] == "layers-model" and document["weightsManifest"][0]["paths"] == ["weights.bin"]
    metadata = json.loads(b"".join(client.get(f"/api/v1/model-versions/{version.pk}/files/tfjs/metadata.json").streaming_content))
    assert metadata["labels"] == list(classroom.project.classes)
    assert client.get(f"/api/v1/model-versions/{version.pk}/files/tfjs/weights.bin").status_code == 200
    assert api_as(classroom.outsider).get(f"/api/v1/model-versions/{version.pk}/files/tfjs/model.json").status_code == 404


@pytest.mark.django_db
def test_versions_page_offers_the_zip(classroom, publish, client):
    """The versions page links the zip; it holds my-model/model.json, weights.bin and metadata.json."""
    version = publish()
    client.force_login(classroom.student)
    html = client.get(f"/projects/{classroom.project.slug}/versions/").content.decode()
    assert f"/model-versions/{version.pk}/tfjs.zip" in html
    response = client.get(f"/model-versions/{version.pk}/tfjs.zip")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert sorted(names) == ["my-model/metadata.json", "my-model/model.json", "my-model/weights.bin"]


@pytest.mark.django_db
def test_a_version_without_tfjs_files_says_why(classroom, publish, client):
    """An imported or older version (no tfjs/ files): no link, and the zip URL answers 404 with the reason."""
    version = publish(drop=tuple(TFJS_FILES.values()))
    client.force_login(classroom.student)
    html = client.get(f"/projects/{classroom.project.slug}/versions/").content.decode()
    assert f"/model-versions/{version.pk}/tfjs.zip" not in html
    assert "Sin archivos de TensorFlow.js" in html
    response = client.get(f"/model-versions/{version.pk}/tfjs.zip")
    assert response.status_code == 404
    assert "Esta versión no tiene archivos de TensorFlow.js" in response.content.decode()


@pytest.mark.django_db
def test_outsiders_cannot_download_the_zip(classroom, publish, client):
    """Someone outside the project gets 404, as for every other file of the version."""
    version = publish()
    client.force_login(classroom.outsider)
    assert client.get(f"/model-versions/{version.pk}/tfjs.zip").status_code == 404
