"""Two levels of language: plain words first, technical terms behind «más detalles», and warnings a student needs."""
import pytest

from ml.evaluation import near_chance
from tests.factories import image_bytes


@pytest.mark.parametrize(
    "accuracy,classes,expected",
    [(0.59, 2, True), (0.66, 2, False), (0.45, 3, True), (0.5, 3, False), (None, 2, False), (0.1, 1, False)],
)
def test_near_chance_is_less_than_fifteen_points_above_guessing(accuracy, classes, expected):
    """1/k + 0.15 separates a model worth trusting from one that barely beats guessing."""
    assert near_chance(accuracy, classes) is expected


@pytest.mark.django_db
def test_near_chance_model_gets_a_warning_next_to_its_answers(classroom, publish, stored_image, client):
    """A model that scored 0.59 on its sealed test photos is flagged on the analysis page; a good one is not."""
    version = publish()
    image = stored_image(image_bytes(fmt="PNG"))
    client.force_login(classroom.student)
    classes = len(classroom.project.classes)
    version.test_accuracy, version.test_n = 1 / classes + 0.09, 40
    version.save(update_fields=["test_accuracy", "test_n"])
    html = client.get(f"/images/{image.pk}/analysis/").content.decode()
    assert 'id="near-chance"' in html and "apenas mejor que adivinar" in html
    assert "en 40 fotos de prueba" in html and "intervalo del 95 %" in html
    version.test_accuracy = 0.97
    version.save(update_fields=["test_accuracy"])
    assert 'id="near-chance"' not in client.get(f"/images/{image.pk}/analysis/").content.decode()


@pytest.mark.django_db
def test_analysis_page_puts_the_technical_terms_behind_more_details(classroom, publish, stored_image, client):
    """Mahalanobis and CAM stay on the page, inside <details>, after a plain sentence."""
    publish()
    image = stored_image(image_bytes(fmt="PNG"))
    client.force_login(classroom.student)
    html = client.get(f"/images/{image.pk}/analysis/").content.decode()
    for term in ("Mahalanobis", "(CAM)"):
        before = html[: html.index(term)]
        assert before.rfind("<details") > before.rfind("</details>"), f"{term} is not inside a <details>"
    assert "más detalles" in html and "Las zonas coloreadas" in html


@pytest.mark.django_db
def test_upload_page_explains_that_no_model_classified_the_photo(world, client):
    """The upload page's script has the "no model yet" explanation, in Spanish, instead of only «guardada»."""
    client.force_login(world.student)
    page = client.get("/upload/")
    assert "Todavía no la ha clasificado ningún modelo" in page.context["upload_texts"]["no_model"]
