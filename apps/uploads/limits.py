"""Upload size limits: enforced while a request body arrives, and again before an uploaded file is read."""
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadhandler import FileUploadHandler
from django.urls import Resolver404, resolve
from rest_framework.exceptions import ParseError

from apps.common.exceptions import ApplicationError
from apps.uploads.validators import FILE_TOO_LARGE

# The API that takes zipped model folders (apps.training.imports) has its own, larger limit.
MODEL_IMPORT_URL_NAME = "api-project-model-versions-import"
# Zips of photos (apps.uploads.imports) too.
IMAGE_IMPORT_URL_NAMES = ("api-project-image-imports", "api-project-image-imports-preview")
# Room for the other form fields and the multipart boundaries around the file.
FORM_OVERHEAD_BYTES = 64 * 1024


class UploadTooLarge(RequestDataTooBig, ParseError):
    """A request body over its limit: DRF answers 400 with the message, plain Django views a 400 page."""

    status_code = 400


def upload_limit_bytes(request) -> int:
    """Return the largest file the request may carry: the model-import limit on that API, else the image limit."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        try:
            match = resolve(request.path_info)
        except Resolver404:
            match = None
    if match is not None and match.url_name == MODEL_IMPORT_URL_NAME:
        return settings.RIIM_MODEL_IMPORT_MAX_BYTES
    if match is not None and match.url_name in IMAGE_IMPORT_URL_NAMES:
        return settings.RIIM_IMPORT_MAX_BYTES
    return settings.RIIM_UPLOAD_MAX_BYTES


def too_large_message(limit: int) -> str:
    return str(FILE_TOO_LARGE % {"limit": round(limit / 1024 / 1024, 1)})


class UploadSizeLimitHandler(FileUploadHandler):
    """First upload handler: refuse a body over the limit before, or as soon as, it passes the limit.

    Django spools large files to disk, but nothing stopped a client from sending gigabytes; this
    handler stops reading at the declared length when there is one, and counts the bytes otherwise.
    """

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.limit = upload_limit_bytes(self.request)
        if content_length and content_length > self.limit + FORM_OVERHEAD_BYTES:
            raise UploadTooLarge(too_large_message(self.limit))
        return None  # the other handlers parse the body

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.limit:
            raise UploadTooLarge(too_large_message(self.limit))
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handler builds the uploaded file


def upload_read(upload, *, limit: int | None = None) -> bytes:
    """Return an uploaded file's bytes, refusing it from its size before anything is read."""
    limit = settings.RIIM_UPLOAD_MAX_BYTES if limit is None else limit
    if upload.size is not None and upload.size > limit:
        raise ApplicationError(FILE_TOO_LARGE % {"limit": round(limit / 1024 / 1024, 1)})
    return upload.read(limit + 1)
