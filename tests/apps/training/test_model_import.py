"""Model import is all or nothing: a refused archive or model is a 400 that leaves no version and no stored file."""
import io
import shutil
import struct
import zipfile
from pathlib import Path

import onnx
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from apps.labeling.services import label_assign
from apps.training.imports import ZIP_DAMAGED, ZIP_ENCRYPTED, ZIP_NAME_CLASH, ZIP_NAME_TOO_LONG
from apps.training.models import ModelVersion
from tests.fixtures.models import class_pictures

PAYLOAD = b"notes that only this entry holds " * 8
LOCAL_HEADER = struct.Struct("<4s5H3L2H")  # the fixed 30 bytes before each entry's name and data
CENTRAL_HEADER = b"PK\x01\x02"


def _folder_entries(folder: Path) -> list[tuple[str, bytes]]:
    return [(f"model/{p.relative_to(folder).as_posix()}", p.read_bytes()) for p in sorted(folder.rglob("*")) if p.is_file()]


def _zip(entries, compression=zipfile.ZIP_STORED) -> bytearray:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=compression) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return bytearray(out.getvalue())


def _data_offset(raw: bytes, name: str) -> int:
    """Return where an entry's (compressed) bytes start in the archive."""
    info = zipfile.ZipFile(io.BytesIO(bytes(raw))).getinfo(name)
    fields = LOCAL_HEADER.unpack_from(raw, info.header_offset)
    return info.header_offset + LOCAL_HEADER.size + fields[-2] + fields[-1]


def _flag_encrypted(raw: bytearray, name: str) -> None:
    """Set the 'encrypted' bit of an entry in its local header and in the central directory, as a zip tool would."""
    info = zipfile.ZipFile(io.BytesIO(bytes(raw))).getinfo(name)
    raw[info.header_offset + 6] |= 0x1
    at = raw.find(CENTRAL_HEADER)
    while at != -1:
        length = struct.unpack_from("<H", raw, at + 28)[0]
        if raw[at + 46 : at + 46 + length].decode() == name:
            raw[at + 8] |= 0x1
        at = raw.find(CENTRAL_HEADER, at + 4)


def _broken_archive(case: str, folder: Path) -> tuple[bytes, str]:
    """Return a real model folder's archive broken one way, and the start of the message it must get."""
    entries = _folder_entries(folder)
    if case == "file and folder of one name":
        raw = _zip([*entries, ("model/notes", b"a file"), ("model/notes/inside.txt", b"and a folder")])
        return raw, str(ZIP_NAME_CLASH).split("(")[0]
    if case == "300-character name":
        raw = _zip([*entries, ("model/" + "n" * 300 + ".txt", b"x")])
        return raw, str(ZIP_NAME_TOO_LONG).split("(")[0]
    if case == "crc mismatch":
        raw = _zip([*entries, ("model/notes.txt", PAYLOAD)])
        raw[_data_offset(raw, "model/notes.txt")] ^= 0xFF  # same length, different bytes: only the CRC can tell
        return raw, str(ZIP_DAMAGED).split("%")[0]
    if case == "corrupt deflate data":
        raw = _zip([*entries, ("model/notes.txt", PAYLOAD)], compression=zipfile.ZIP_DEFLATED)
        start = _data_offset(raw, "model/notes.txt")
        raw[start : start + 4] = b"\xff\xff\xff\xff"  # a deflate block of the reserved type 3
        return raw, str(ZIP_DAMAGED).split("%")[0]
    raw = _zip(entries)
    _flag_encrypted(raw, "model/card.json")
    return raw, str(ZIP_ENCRYPTED).split("(")[0]


def _post(classroom, raw: bytes):
    client = APIClient()
    client.force_authenticate(classroom.teacher)
    return client.post(
        f"/api/v1/projects/{classroom.project.slug}/model-versions/import/",
        {"file": SimpleUploadedFile("model.zip", bytes(raw), content_type="application/zip")},
        format="multipart",
    )


def _assert_nothing_left():
    assert not ModelVersion.objects.exists()
    assert not default_storage.exists("models")


@pytest.mark.parametrize(
    "case",
    ["file and folder of one name", "300-character name", "crc mismatch", "corrupt deflate data", "encrypted entry"],
)
def test_malformed_archive_is_a_400_that_leaves_nothing(classroom, trained_model_dir, case):
    """Each malformed archive is refused with its reason; no version row and no stored file appear."""
    raw, reason = _broken_archive(case, trained_model_dir)
    response = _post(classroom, raw)
    assert response.status_code == 400, response.content
    assert response.json()["detail"].startswith(reason)
    _assert_nothing_left()


@pytest.fixture
def labeled_holdout(classroom, stored_image):
    """Enough labeled test pictures that scoring sends the model a batch of several."""
    for label, raw in class_pictures(30, seed=77):
        label_assign(image=stored_image(raw, name=f"{label}.png", user=classroom.teacher), author=classroom.teacher, label=label)
    held = classroom.project.images.filter(split="test").exclude(label="").count()
    assert held > 1
    return held


def test_model_with_a_fixed_batch_of_one_is_refused_before_anything_is_stored(
    classroom, trained_model_dir, labeled_holdout, tmp_path
):
    """A model.onnx that only takes one photo at a time is a 400 naming the batch, with no row and no files."""
    folder = tmp_path / "batch-of-one"
    shutil.copytree(trained_model_dir, folder)
    model = onnx.load(folder / "model.onnx")
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 1
    onnx.save(model, folder / "model.onnx")
    response = _post(classroom, _zip(_folder_entries(folder)))
    assert response.status_code == 400, response.content
    assert "batch of 5" in response.json()["detail"]
    _assert_nothing_left()
