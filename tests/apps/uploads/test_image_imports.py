"""Importing zips and loose photos: the API contract, the folder mapping and every malicious zip case."""
import io
import json
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from PIL import Image as PILImage
from rest_framework.test import APIClient

from apps.accounts import roles
from apps.uploads.imports import class_for_folder
from apps.uploads.limits import FORM_OVERHEAD_BYTES
from apps.uploads.models import Image, ImageImport
from tests.factories import ProjectFactory, UserFactory, image_bytes

pytestmark = pytest.mark.django_db


def make_zip(entries: dict, *, symlinks=()) -> bytes:
    """Return a zip of name -> bytes; names in `symlinks` are stored as symbolic links."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if name in symlinks:
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, data)
    return out.getvalue()


def noise_png(seed) -> bytes:
    """A PNG of random pixels: it does not compress, so a zip of a few is larger than one of them."""
    pixels = np.random.default_rng(seed).integers(0, 256, (160, 160, 3), dtype=np.uint8)
    out = io.BytesIO()
    PILImage.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def photo(i, fmt="JPEG"):
    return image_bytes(color=(10 + i * 7 % 240, 200 - i * 5 % 200, (i * 31) % 255), fmt=fmt)


@pytest.fixture
def teacher_api():
    project = ProjectFactory()  # classes gato, perro
    client = APIClient()
    client.force_authenticate(project.owner)
    return project, client


def _post(client, project, files, **data):
    files = files if isinstance(files, list) else [files]
    payload = {"file": [io.BytesIO(content) for content in files], **data}
    for i, (handle, content) in enumerate(zip(payload["file"], files, strict=True)):
        handle.name = f"upload{i}" + (".zip" if content[:2] == b"PK" else ".png" if content[:4] == b"\x89PNG" else ".jpg")
    return client.post(f"/api/v1/projects/{project.slug}/image-imports/", payload, format="multipart")


def _run(client, project, files, captured, **data):
    """POST an import and run it (the worker, eagerly); return the GET summary."""
    with captured(execute=True):
        response = _post(client, project, files, **data)
    assert response.status_code == 202, response.content
    created = response.json()
    assert set(created) == {"id", "status", "url"} and created["status"] == "queued"
    summary = client.get(created["url"])  # the page polls the address the answer gives
    assert created["url"] == f"/api/v1/image-imports/{created['id']}/"
    assert summary.status_code == 200
    return summary.json()


def _media_files():
    root = Path(settings.MEDIA_ROOT)
    return [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_folder_names_are_mapped_to_classes_by_name_then_synonym():
    """Exact names (any case or accents) first, then English and Spanish synonyms, else ask."""
    classes = ["gato", "perro", "pájaro"]
    assert class_for_folder("Gato", classes) == ("gato", "exact")
    assert class_for_folder("PAJARO", classes) == ("pájaro", "exact")
    assert class_for_folder("cat", classes) == ("gato", "synonym")
    assert class_for_folder("dogs", classes) == ("perro", "synonym")
    assert class_for_folder("bird", classes) == ("pájaro", "synonym")
    assert class_for_folder("zebra", classes) == (None, None)


def test_preview_proposes_a_class_per_folder_and_stores_nothing(teacher_api):
    """The preview lists the folders with counts and proposals, and the refused entries."""
    project, client = teacher_api
    archive = make_zip({"train/cat/1.jpg": photo(1), "train/cat/2.jpg": photo(2), "train/dog/3.jpg": photo(3),
                        "train/zebra/4.jpg": photo(4), "../evil.jpg": photo(5)})
    handle = io.BytesIO(archive)
    handle.name = "kaggle.zip"
    response = client.post(f"/api/v1/projects/{project.slug}/image-imports/preview/", {"file": handle}, format="multipart")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["folders"] == [
        {"name": "cat", "files": 2, "proposed": "gato", "match": "synonym"},
        {"name": "dog", "files": 1, "proposed": "perro", "match": "synonym"},
        {"name": "zebra", "files": 1, "proposed": None, "match": None},
    ]
    assert [row["name"] for row in body["refused"]] == ["../evil.jpg"]
    assert not Image.objects.exists() and not ImageImport.objects.exists() and _media_files() == []


def test_image_folder_zip_imports_with_the_mapping(teacher_api, django_capture_on_commit_callbacks):
    """A folder-per-class zip with a mapping: photos labeled, duplicates counted, bad files refused with reasons."""
    project, client = teacher_api
    archive = make_zip({
        "cat/1.jpg": photo(1), "cat/2.png": photo(2, "PNG"), "dog/3.jpg": photo(3),
        "dog/copy.jpg": photo(3), "dog/notes.jpg": b"hello", "__MACOSX/cat/._1.jpg": b"junk",
    })
    summary = _run(client, project, archive, django_capture_on_commit_callbacks,
                   classes=json.dumps({"cat": "gato", "dog": "perro"}))
    assert summary["status"] == "succeeded"
    assert (summary["imported"], summary["duplicates"]) == (3, 1)
    assert [row["name"] for row in summary["skipped"]] == ["dog/notes.jpg"]
    assert sorted(Image.objects.values_list("label", flat=True)) == ["gato", "gato", "perro"]
    assert set(Image.objects.values_list("label_source", flat=True)) == {"import"}
    assert all(name.startswith("images/") for name in _media_files())  # the spooled zip is gone


def test_without_a_mapping_folders_are_matched_and_unknown_ones_refused(teacher_api, django_capture_on_commit_callbacks):
    """No `classes`: the proposal is applied; a folder with no match is refused, not guessed."""
    project, client = teacher_api
    archive = make_zip({"Gatos/1.jpg": photo(1), "zebra/2.jpg": photo(2)})
    summary = _run(client, project, archive, django_capture_on_commit_callbacks)
    assert summary["imported"] == 1
    assert summary["skipped"][0]["name"] == "zebra/2.jpg" and "zebra" in summary["skipped"][0]["reason"]


def test_flat_zip_and_loose_files_take_one_class(teacher_api, django_capture_on_commit_callbacks):
    """`class` assigns every photo of a flat zip, or of several loose files, to one class."""
    project, client = teacher_api
    flat = _run(client, project, make_zip({"a.jpg": photo(1), "b.jpg": photo(2)}),
                django_capture_on_commit_callbacks, **{"class": "perro"})
    loose = _run(client, project, [photo(3), photo(4, "PNG")], django_capture_on_commit_callbacks, **{"class": "gato"})
    assert (flat["imported"], loose["imported"]) == (2, 2)
    assert Image.objects.filter(label="perro").count() == 2 and Image.objects.filter(label="gato").count() == 2


def test_loose_files_keep_their_names(teacher_api, django_capture_on_commit_callbacks):
    """Loose photos are checked with their own names (a PNG named .jpg is refused as a mismatch)."""
    project, client = teacher_api
    files = [photo(5), photo(6, "PNG")]
    handles = [io.BytesIO(content) for content in files]
    handles[0].name, handles[1].name = "gato-1.jpg", "gato-2.png"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/projects/{project.slug}/image-imports/",
                               {"file": handles, "class": "gato"}, format="multipart")
    summary = client.get(f"/api/v1/image-imports/{response.json()['id']}/").json()
    assert summary["imported"] == 2 and summary["status"] == "succeeded"
    assert sorted(Image.objects.values_list("original_name", flat=True)) == ["gato-1.jpg", "gato-2.png"]


@pytest.mark.parametrize(
    ("name", "data", "symlink"),
    [
        ("../../outside.jpg", None, False),
        ("/etc/cron.d/evil.jpg", None, False),
        ("C:/evil.jpg", None, False),
        ("cat/link.jpg", b"/etc/passwd", True),
        ("cat/inner.zip", None, False),
        ("cat/bomb.png", b"\0" * (8 * 1024 * 1024), False),
        ("cat/readme.jpg", b"not a picture at all", False),
    ],
    ids=["traversal", "absolute", "drive", "symlink", "nested-zip", "bomb-ratio", "not-an-image"],
)
def test_malicious_entries_are_refused_one_by_one(
    teacher_api, django_capture_on_commit_callbacks, tmp_path, name, data, symlink
):
    """Each bad entry is refused with a reason; the good one beside it is imported; nothing lands outside media."""
    project, client = teacher_api
    data = data if data is not None else (make_zip({"x.jpg": photo(9)}) if name.endswith(".zip") else photo(8))
    archive = make_zip({"cat/good.jpg": photo(1), name: data}, symlinks={name} if symlink else set())
    before = {p for p in tmp_path.rglob("*") if "media" not in p.parts}
    summary = _run(client, project, archive, django_capture_on_commit_callbacks, classes=json.dumps({"cat": "gato"}))
    assert summary["imported"] == 1
    assert [row["name"] for row in summary["skipped"]] == [name]
    assert summary["skipped"][0]["reason"]
    assert {p for p in tmp_path.rglob("*") if "media" not in p.parts} == before
    assert all(name.startswith("images/") for name in _media_files())


def test_total_uncompressed_size_is_bounded(teacher_api, django_capture_on_commit_callbacks, settings):
    """Entries past the import's total uncompressed limit are refused."""
    project, client = teacher_api
    first, second = photo(1), photo(2)
    settings.RIIM_IMPORT_MAX_TOTAL_BYTES = len(first) + 10
    summary = _run(client, project, make_zip({"cat/a.jpg": first, "cat/b.jpg": second}),
                   django_capture_on_commit_callbacks)
    assert summary["imported"] == 1 and summary["skipped"][0]["name"] == "cat/b.jpg"


@pytest.mark.parametrize(
    ("setting", "value", "data"),
    [
        ("RIIM_IMPORT_MAX_ENTRIES", 2, {"cat/a.jpg": b"1", "cat/b.jpg": b"2", "cat/c.jpg": b"3"}),
        ("RIIM_IMPORT_MAX_BYTES", 100, {"cat/a.jpg": b"x" * 5000}),
    ],
    ids=["entry-count", "zip-size"],
)
def test_whole_zip_limits_answer_400_and_store_nothing(teacher_api, settings, setting, value, data):
    """Too many entries or too large a zip is refused at once, before anything is stored."""
    project, client = teacher_api
    setattr(settings, setting, value)
    response = _post(client, project, make_zip(data))
    assert response.status_code == 400 and response.json()
    assert not ImageImport.objects.exists() and _media_files() == []


@pytest.mark.parametrize(
    "data",
    [{"classes": "not json"}, {"classes": json.dumps(["gato"])}, {"classes": json.dumps({"cat": "león"})},
     {"class": "león"}, {"class": "gato", "classes": json.dumps({"cat": "gato"})}, {}],
    ids=["bad-json", "not-object", "unknown-class", "unknown-single", "both", "no-file"],
)
def test_bad_requests_are_400(teacher_api, data):
    """A bad mapping, an unknown class or a missing file is a clear 400."""
    project, client = teacher_api
    if data:
        response = _post(client, project, make_zip({"cat/a.jpg": photo(1)}), **data)
    else:
        response = client.post(f"/api/v1/projects/{project.slug}/image-imports/", {}, format="multipart")
    assert response.status_code == 400, response.content
    assert not ImageImport.objects.exists()


def test_only_the_projects_teacher_imports_and_reads_imports(teacher_api, django_capture_on_commit_callbacks):
    """Students get 403 on POST; another teacher cannot read the import (404)."""
    project, client = teacher_api
    student = UserFactory(role=roles.STUDENT)
    project.memberships.create(user=student, role="student")
    other = APIClient()
    other.force_authenticate(student)
    assert _post(other, project, make_zip({"cat/a.jpg": photo(1)})).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        created = _post(client, project, make_zip({"cat/a.jpg": photo(1)})).json()
    stranger = APIClient()
    stranger.force_authenticate(UserFactory(role=roles.TEACHER))
    assert stranger.get(f"/api/v1/image-imports/{created['id']}/").status_code == 404


def test_a_zip_larger_than_one_photo_upload_is_accepted_up_to_the_import_limit(
    teacher_api, settings, django_capture_on_commit_callbacks
):
    """The request limit on the import API is the import's, not the single-photo upload's."""
    project, client = teacher_api
    photos = [noise_png(i) for i in range(4)]
    archive = make_zip({f"cat/{i}.png": content for i, content in enumerate(photos)})
    settings.RIIM_UPLOAD_MAX_BYTES = max(map(len, photos)) + 100  # each photo fits, the zip does not
    assert len(archive) > settings.RIIM_UPLOAD_MAX_BYTES + FORM_OVERHEAD_BYTES
    summary = _run(client, project, archive, django_capture_on_commit_callbacks)
    assert summary["imported"] == 4


@pytest.mark.parametrize("url", ["image-imports/", "image-imports/preview/"])
def test_the_uploaded_zip_is_spooled_to_a_temporary_file(teacher_api, url):
    """Even a small zip is written to a temporary file while the request is read, never kept in memory."""
    from django.core.files.uploadedfile import TemporaryUploadedFile
    from django.test import RequestFactory
    from rest_framework.request import Request

    from apps.uploads.import_apis import ProjectImageImportPreviewApi, ProjectImageImportsApi

    project, _ = teacher_api
    view = ProjectImageImportsApi() if url == "image-imports/" else ProjectImageImportPreviewApi()
    handle = io.BytesIO(make_zip({"cat/a.jpg": photo(1)}))
    handle.name = "small.zip"
    request = RequestFactory().post(f"/api/v1/projects/{project.slug}/{url}", {"file": handle})
    view.args, view.kwargs, view.headers = (), {"slug": project.slug}, {}
    drf_request = view.initialize_request(request, slug=project.slug)
    assert isinstance(drf_request, Request)
    assert isinstance(drf_request.FILES["file"], TemporaryUploadedFile)
