"""Decoding an upload costs bounded memory: JPEG drawn small, a pixel budget for the rest, few decodes at once."""
import io
import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PILImage

from apps.uploads import validators
from apps.uploads.models import Image
from apps.uploads.validators import image_open
from tests.factories import image_bytes


def _post(api_as, user, project, name, raw):
    return api_as(user).post(
        "/api/v1/images/", {"project": project.slug, "file": SimpleUploadedFile(name, raw)}, format="multipart"
    )


def test_stored_photo_is_downscaled_to_the_max_side(world, api_as, settings):
    """A large photo is stored with its long side at RIIM_UPLOAD_MAX_SIDE, its proportions kept."""
    settings.RIIM_UPLOAD_MAX_SIDE = 300
    response = _post(api_as, world.student, world.project, "wide.jpg", image_bytes(size=(1800, 600)))
    assert response.status_code == 201, response.content
    assert (response.json()["width"], response.json()["height"]) == (300, 100)
    with Image.objects.get().file.open("rb") as fh:
        assert PILImage.open(fh).size == (300, 100)


def test_jpeg_is_decoded_at_reduced_scale():
    """A JPEG far larger than the max side is decoded by libjpeg at 1/2, 1/4 or 1/8 of its size."""
    out = io.BytesIO()
    PILImage.new("RGB", (4000, 2000), "white").save(out, format="JPEG")
    picture = PILImage.open(io.BytesIO(out.getvalue()))
    scale = validators._draft_scale(picture.size, 400)
    assert scale == 8 and 4000 // scale >= 400
    assert validators._draft_scale((4000, 2000), 2048) == 1


def test_pixel_budget_refuses_formats_that_cannot_be_drawn_small(world, api_as, settings):
    """Under the same decode budget a big PNG is refused while a JPEG as big is decoded small and accepted."""
    settings.RIIM_UPLOAD_MAX_SIDE = 100
    settings.RIIM_UPLOAD_MAX_DECODE_PIXELS = 20_000
    response = _post(api_as, world.student, world.project, "big.png", image_bytes(size=(400, 400), fmt="PNG"))
    assert response.status_code == 400
    assert "160,000" in response.json()["detail"] and "JPEG" in response.json()["detail"]
    response = _post(api_as, world.student, world.project, "big.jpg", image_bytes(size=(400, 400)))
    assert response.status_code == 201, response.content
    assert Image.objects.count() == 1


def test_duplicate_is_found_before_any_decode(world, api_as, settings):
    """The same bytes again are a 409 from their hash, even when decoding them would now be refused."""
    raw = image_bytes(size=(200, 200))
    assert _post(api_as, world.student, world.project, "a.jpg", raw).status_code == 201
    settings.RIIM_UPLOAD_MAX_DECODE_PIXELS = 1  # any decode would be refused
    response = _post(api_as, world.student, world.project, "b.jpg", raw)
    assert response.status_code == 409 and response.json()["duplicate_of"] == Image.objects.get().pk


def test_decodes_wait_for_a_free_slot(settings):
    """With every decode slot taken, an image decode waits until one is released."""
    settings.RIIM_UPLOAD_DECODE_CONCURRENCY = 1
    raw, done = image_bytes(), threading.Event()
    slot = validators._decode_slot()

    def decode():
        image_open(raw, "a.jpg")
        done.set()

    with slot:
        worker = threading.Thread(target=decode)
        worker.start()
        assert not done.wait(0.5)
    assert done.wait(10)
    worker.join()


def _mpo_bytes():
    first = PILImage.new("RGB", (120, 80), (200, 30, 30))
    second = PILImage.new("RGB", (120, 80), (30, 30, 200))
    out = io.BytesIO()
    first.save(out, format="MPO", save_all=True, append_images=[second])
    return out.getvalue()


def test_multi_picture_jpeg_is_accepted_as_its_first_frame(world, api_as):
    """A phone's multi-picture JPEG (MPO) is stored as a JPEG of its first picture."""
    raw = _mpo_bytes()
    assert PILImage.open(io.BytesIO(raw)).format == "MPO"  # really a multi-picture file
    response = _post(api_as, world.student, world.project, "IMG_0001.jpg", raw)
    assert response.status_code == 201, response.content
    assert response.json()["format"] == "JPEG"
    image = Image.objects.get()
    with image.file.open("rb") as fh:
        stored = PILImage.open(fh)
        assert stored.format == "JPEG" and getattr(stored, "n_frames", 1) == 1
        red, _green, blue = stored.convert("RGB").getpixel((60, 40))
        assert red > 150 and blue < 80  # the first (red) picture, not the second (blue)


@pytest.mark.parametrize("size", [(6300, 6300)])
def test_hostile_white_jpeg_is_accepted_small(size, settings):
    """A 39.7 Mpx all-white JPEG (about 600 KB) opens as a picture no longer than the max side."""
    out = io.BytesIO()
    PILImage.new("RGB", size, "white").save(out, format="JPEG", quality=75)
    picture, fmt = image_open(out.getvalue(), "white.jpg")
    assert fmt == "JPEG" and max(picture.size) == settings.RIIM_UPLOAD_MAX_SIDE
