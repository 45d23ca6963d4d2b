"""Request bodies over the upload limit are refused while they arrive, never read whole into memory."""
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory

from apps.common.exceptions import ApplicationError
from apps.uploads.limits import UploadTooLarge, upload_read
from apps.uploads.models import Image
from tests.factories import image_bytes


class CountingStream:
    """A request body that records how many bytes the server read from it."""

    def __init__(self, stream):
        self.stream, self.read_bytes = stream, 0

    def read(self, *args):
        data = self.stream.read(*args)
        self.read_bytes += len(data)
        return data

    def readline(self, *args):
        data = self.stream.readline(*args)
        self.read_bytes += len(data)
        return data


def _big_upload_request(path, size):
    request = RequestFactory().post(path, {"project": "p", "file": SimpleUploadedFile("big.jpg", b"\xff" * size)})
    request._stream = counting = CountingStream(request._stream)
    return request, counting


def test_body_over_limit_is_refused_before_it_is_read(settings):
    """A multipart body declaring more than the limit is refused without reading the file."""
    settings.RIIM_UPLOAD_MAX_BYTES = 200_000
    request, counting = _big_upload_request("/api/v1/images/", 5_000_000)
    with pytest.raises(UploadTooLarge):
        request.FILES  # noqa: B018 - parsing the body is what is tested
    assert counting.read_bytes < 200_000


def test_body_within_limit_is_parsed(settings):
    """A body under the limit reaches the view as usual."""
    settings.RIIM_UPLOAD_MAX_BYTES = 200_000
    request, _counting = _big_upload_request("/api/v1/images/", 100_000)
    assert request.FILES["file"].size == 100_000


def test_model_import_has_its_own_limit(settings):
    """The model-import API accepts archives up to RIIM_MODEL_IMPORT_MAX_BYTES, larger than an image."""
    settings.RIIM_UPLOAD_MAX_BYTES = 200_000
    settings.RIIM_MODEL_IMPORT_MAX_BYTES = 2_000_000
    request, _counting = _big_upload_request("/api/v1/projects/p/model-versions/import/", 1_000_000)
    assert request.FILES["file"].size == 1_000_000
    request, counting = _big_upload_request("/api/v1/projects/p/model-versions/import/", 3_000_000)
    with pytest.raises(UploadTooLarge):
        request.FILES  # noqa: B018
    assert counting.read_bytes < 2_000_000


@pytest.mark.parametrize("url", ["/api/v1/images/", "/api/v1/analyze/"])
def test_api_answers_400_with_the_limit(world, api_as, settings, url):
    """The upload and analysis APIs answer an oversized body with a 400 naming the limit; nothing is stored."""
    settings.RIIM_UPLOAD_MAX_BYTES = 100_000
    response = api_as(world.student).post(
        url, {"project": world.project.slug, "file": SimpleUploadedFile("big.jpg", b"\xff" * 500_000)}, format="multipart"
    )
    assert response.status_code == 400, response.content
    assert "0.1 MB" in response.json()["detail"]
    assert Image.objects.count() == 0


class UnreadableUpload(io.BytesIO):
    """An uploaded file whose declared size is over the limit and which must not be read."""

    name = "huge.jpg"
    size = 50 * 1024 * 1024

    def read(self, *args):
        raise AssertionError("the file was read")


def test_upload_read_checks_the_size_first(settings):
    """upload_read refuses from the uploaded file's size, before reading a byte."""
    settings.RIIM_UPLOAD_MAX_BYTES = 1024 * 1024
    with pytest.raises(ApplicationError):
        upload_read(UnreadableUpload())
    assert upload_read(SimpleUploadedFile("a.jpg", image_bytes())) == image_bytes()
