"""A stored analysis is read in the reader's language, whatever language computed it."""
import pytest
from django.urls import reverse
from django.utils import translation

from apps.inference.attributes import pixel_tag_name
from tests.factories import image_bytes


def test_pixel_tag_names_come_back_in_the_active_language():
    """A tag stored as «oscura» reads "dark" in English and the other way round."""
    with translation.override("en"):
        assert pixel_tag_name("oscura") == "dark" and pixel_tag_name("borrosa") == "blurry"
    with translation.override("es"):
        assert pixel_tag_name("dark") == "oscura"
    assert pixel_tag_name("gato") == "gato"  # not a pixel tag: as stored


@pytest.mark.django_db
def test_analysis_computed_in_spanish_reads_in_english(classroom, publish, stored_image, api_as):
    """The heatmap sentence and the pixel tags of a stored analysis follow the reader's language."""
    publish()
    image = stored_image(image_bytes(size=(96, 48), fmt="PNG"))
    url = reverse("api-image-analysis", args=[image.pk])
    client = api_as(classroom.student)
    spanish = client.get(url, HTTP_ACCEPT_LANGUAGE="es").json()
    client.cookies["django_language"] = "en"
    english = client.get(url).json()
    assert spanish["id"] == english["id"]  # the same stored row
    pixel = lambda body: [t["name"] for t in body["tags"] if t["source"] == "pixels"]  # noqa: E731
    assert "horizontal" in pixel(spanish) and "landscape" in pixel(english) and "horizontal" not in pixel(english)
    if spanish["explanation"].get("sentence"):
        assert "The warm (red and yellow) areas" in english["explanation"]["sentence"]
        assert "The warm" not in spanish["explanation"]["sentence"]
