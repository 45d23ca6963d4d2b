"""Webcam frames: one split per capture session, the ordinary upload checks, and the camera allowed only where it is used."""
import io
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PILImage

from apps.uploads.models import Image
from apps.uploads.splits import capture_split_for, image_split_for


def _frame(seed: int) -> bytes:
    picture = PILImage.new("RGB", (64, 48), (seed % 256, (seed * 7) % 256, (seed * 13) % 256))
    out = io.BytesIO()
    picture.save(out, format="JPEG")
    return out.getvalue()


def _post(client, project, raw, session, name="webcam.jpg"):
    body = {"project": project.slug, "file": SimpleUploadedFile(name, raw, content_type="image/jpeg")}
    if session is not None:
        body["capture_session"] = str(session)
    return client.post("/api/v1/images/", body, format="multipart")


@pytest.mark.django_db
def test_frames_of_one_session_share_one_split(classroom, api_as):
    """Twelve frames whose own hashes would scatter them land in the split of their session, for several sessions."""
    client = api_as(classroom.student)
    project = classroom.project
    sessions = [uuid.UUID(int=n) for n in range(1, 9)]
    expected = {s: capture_split_for(capture_session=s, project=project) for s in sessions}
    assert len(set(expected.values())) >= 2, "the sessions chosen cover more than one split"
    seed = 0
    for session in sessions:
        for _ in range(3):
            seed += 1
            response = _post(client, project, _frame(seed), session)
            assert response.status_code == 201, response.content
            assert response.json()["split"] == expected[session]
            assert response.json()["capture_session"] == str(session)
    rows = Image.objects.filter(project=project)
    assert rows.count() == 24
    for session in sessions:
        assert set(rows.filter(capture_session=session).values_list("split", flat=True)) == {expected[session]}
    # Without the session the same frames would have been split by their own hashes: both sides, within a session.
    by_hash = {image_split_for(sha256=row.sha256, project=project) for row in rows}
    assert by_hash == {"train", "validation", "test"}


@pytest.mark.django_db
def test_uploads_without_a_session_keep_the_hash_split(classroom, api_as):
    """A plain upload (no capture session) still gets the split of its own hash and no session."""
    response = _post(api_as(classroom.student), classroom.project, _frame(99), None)
    assert response.status_code == 201
    image = Image.objects.get(pk=response.json()["id"])
    assert image.capture_session is None
    assert image.split == image_split_for(sha256=image.sha256, project=classroom.project)


@pytest.mark.django_db
def test_a_bad_frame_or_session_is_refused_and_nothing_stored(classroom, api_as):
    """A frame that is not a picture, a duplicate frame and a malformed session id: 4xx each, no new row."""
    client = api_as(classroom.student)
    session = uuid.uuid4()
    assert _post(client, classroom.project, b"not a jpeg at all", session).status_code == 400
    bad_session = _post(client, classroom.project, _frame(5), "not-a-uuid")
    assert bad_session.status_code == 400 and "capture_session" in bad_session.json()
    assert Image.objects.count() == 0
    assert _post(client, classroom.project, _frame(5), session).status_code == 201
    assert _post(client, classroom.project, _frame(5), session).status_code == 409  # the same frame twice
    assert Image.objects.count() == 1


@pytest.mark.django_db
def test_camera_is_allowed_only_on_the_capture_pages(classroom, client):
    """The upload and labeling pages allow the camera for this site; other pages keep it denied."""
    client.force_login(classroom.student)
    slug = classroom.project.slug
    for url in ("/upload/", f"/label/{slug}/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "camera=(self)" in response["Permissions-Policy"], url
        assert 'id="webcam-capture"' in response.content.decode()
    assert "camera=()" in client.get(f"/projects/{slug}/").headers["Permissions-Policy"]
