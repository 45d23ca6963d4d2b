"""Every bad upload is a clear 4xx that stores nothing."""
import io
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PILImage

from apps.uploads.models import Image
from tests.factories import image_bytes


def _files_on_disk(settings):
    root = settings.MEDIA_ROOT
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _png_header_only(width, height):
    """A valid PNG signature and IHDR that declares a huge canvas (a decompression bomb)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    data = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    idat = zlib.compress(b"\x00" * 100)
    chunk = b"IDAT" + idat
    data += struct.pack(">I", len(idat)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    return data


BAD_UPLOADS = {
    "text renamed .jpg": ("notes.jpg", b"esto no es una imagen\n" * 20),
    "truncated jpeg": ("cut.jpg", image_bytes(size=(300, 300))[:700]),
    "empty file": ("empty.png", b""),
    "svg": ("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><rect width="10" height="10"/></svg>'),
    "png declaring 30000x30000": ("bomb.png", _png_header_only(30000, 30000)),
    "jpeg named .png": ("photo.png", image_bytes()),
}


@pytest.mark.parametrize("case", sorted(BAD_UPLOADS))
def test_bad_upload_is_rejected_with_message_and_nothing_stored(world, api_as, settings, case):
    """A bad file gets a 400 with a readable message; no row and no file is added."""
    name, content = BAD_UPLOADS[case]
    before_files, before_rows = _files_on_disk(settings), Image.objects.count()
    response = api_as(world.student).post(
        "/api/v1/images/",
        {"project": world.project.slug, "file": SimpleUploadedFile(name, content)},
        format="multipart",
    )
    assert response.status_code == 400, response.content
    assert response.json()["detail"]
    assert Image.objects.count() == before_rows
    assert _files_on_disk(settings) == before_files


def test_file_over_size_limit_is_rejected(world, api_as, settings):
    """A file larger than RIIM_UPLOAD_MAX_BYTES is refused before decoding."""
    settings.RIIM_UPLOAD_MAX_BYTES = 2000
    noise = PILImage.effect_noise((200, 200), 80).convert("RGB")
    out = io.BytesIO()
    noise.save(out, format="PNG")
    assert len(out.getvalue()) > 2000
    response = api_as(world.student).post(
        "/api/v1/images/",
        {"project": world.project.slug, "file": SimpleUploadedFile("big.png", out.getvalue())},
        format="multipart",
    )
    assert response.status_code == 400
    assert "MB" in response.json()["detail"]
    assert Image.objects.count() == 0


def test_missing_project_and_missing_file_are_field_errors(world, api_as):
    """Wrong form fields are 400s naming the field."""
    client = api_as(world.student)
    response = client.post("/api/v1/images/", {"file": SimpleUploadedFile("a.jpg", image_bytes())}, format="multipart")
    assert response.status_code == 400 and "project" in response.json()
    response = client.post("/api/v1/images/", {"project": world.project.slug}, format="multipart")
    assert response.status_code == 400 and "file" in response.json()


def test_path_traversal_name_is_neutralised(world, api_as, settings):
    """A client file name with ../ is reduced to its last component and stored under a generated name."""
    response = api_as(world.student).post(
        "/api/v1/images/",
        {"project": world.project.slug, "file": SimpleUploadedFile("../../etc/passwd.jpg", image_bytes())},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    image = Image.objects.get()
    assert image.original_name == "passwd.jpg"
    stored = (settings.MEDIA_ROOT / image.file.name).resolve()
    assert stored.is_relative_to(settings.MEDIA_ROOT.resolve())
    assert "passwd" not in image.file.name


def test_upload_to_foreign_project_and_grader_upload_are_refused(world, api_as):
    """Outsiders get 404 (the project is invisible to them); graders get 403."""
    upload = {"project": world.project.slug, "file": SimpleUploadedFile("a.jpg", image_bytes())}
    assert api_as(world.outsider).post("/api/v1/images/", upload, format="multipart").status_code == 404
    upload["file"] = SimpleUploadedFile("a.jpg", image_bytes())
    assert api_as(world.grader).post("/api/v1/images/", upload, format="multipart").status_code == 403
    assert Image.objects.count() == 0


def test_gps_exif_is_stripped_and_orientation_applied(world, api_as, settings):
    """The stored copy has no EXIF (no GPS) and the orientation tag has been applied to the pixels."""
    exif = PILImage.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    gps = {1: "N", 2: (40.0, 25.0, 0.0), 3: "W", 4: (3.0, 42.0, 0.0)}
    exif[0x8825] = gps
    out = io.BytesIO()
    PILImage.new("RGB", (80, 40), (10, 200, 10)).save(out, format="JPEG", exif=exif.tobytes())
    raw = out.getvalue()
    assert PILImage.open(io.BytesIO(raw)).getexif().get_ifd(0x8825)  # the upload really carries GPS
    response = api_as(world.student).post(
        "/api/v1/images/",
        {"project": world.project.slug, "file": SimpleUploadedFile("gps.jpg", raw)},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    image = Image.objects.get()
    stored = PILImage.open(settings.MEDIA_ROOT / image.file.name)
    assert not stored.getexif().get_ifd(0x8825)
    assert len(stored.getexif()) == 0
    assert (image.width, image.height) == (40, 80) == stored.size


def test_duplicate_is_reported_not_stored(world, api_as):
    """The same bytes twice in a project: 409 naming the first upload, one row."""
    raw = image_bytes(color=(1, 2, 3))
    client = api_as(world.student)
    first = client.post(
        "/api/v1/images/", {"project": world.project.slug, "file": SimpleUploadedFile("a.jpg", raw)}, format="multipart"
    )
    second = client.post(
        "/api/v1/images/", {"project": world.project.slug, "file": SimpleUploadedFile("b.jpg", raw)}, format="multipart"
    )
    assert first.status_code == 201 and second.status_code == 409
    assert second.json()["duplicate_of"] == first.json()["id"]
    assert Image.objects.count() == 1


@pytest.mark.parametrize("fmt,ext", [("PNG", "png"), ("WEBP", "webp"), ("GIF", "gif"), ("BMP", "bmp"), ("JPEG", "jpeg")])
def test_allowed_formats_are_stored(world, api_as, fmt, ext):
    """JPEG, PNG, WebP, GIF and BMP are accepted with their size and format recorded."""
    response = api_as(world.student).post(
        "/api/v1/images/",
        {"project": world.project.slug, "file": SimpleUploadedFile(f"x.{ext}", image_bytes(size=(33, 21), fmt=fmt))},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["width"], body["height"], body["format"]) == (33, 21, fmt)
    assert body["split"] in ("train", "validation", "test")
    assert body["analysis"] is None


def test_database_failure_leaves_no_file(world, settings, monkeypatch):
    """When the row cannot be written, the stored file is removed again."""
    from apps.uploads import services

    def explode(*args, **kwargs):
        raise RuntimeError("database unavailable")

    monkeypatch.setattr(services.Image.objects, "create", explode)
    with pytest.raises(RuntimeError):
        services.image_upload_create(project=world.project, uploader=world.student, raw=image_bytes(), name="a.jpg")
    assert _files_on_disk(settings) == []


def test_concurrent_duplicate_is_a_conflict_not_a_500(world, settings, monkeypatch):
    """When the duplicate check races another upload, the unique constraint answers 409 and the file is removed."""
    from apps.common.exceptions import ConflictError
    from apps.uploads import services

    raw = image_bytes(color=(7, 7, 7))
    first = services.image_upload_create(project=world.project, uploader=world.student, raw=raw, name="a.jpg")
    files_before = _files_on_disk(settings)
    real_filter = services.Image.objects.filter
    calls = {"n": 0}

    def filter_missing_once(*args, **kwargs):
        calls["n"] += 1
        qs = real_filter(*args, **kwargs)
        return qs.none() if calls["n"] == 1 else qs  # the check runs before the other upload committed

    monkeypatch.setattr(services.Image.objects, "filter", filter_missing_once)
    with pytest.raises(ConflictError) as err:
        services.image_upload_create(project=world.project, uploader=world.student, raw=raw, name="b.jpg")
    assert err.value.extra["duplicate_of"] == first.pk
    assert _files_on_disk(settings) == files_before
    assert Image.objects.count() == 1
