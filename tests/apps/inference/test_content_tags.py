"""What is in the photo, said in the reader's language: coarse ImageNet categories, or «no lo sé»."""
from django.utils import translation

from apps.inference.services import _content_tags


def _categories(first, p1, second, p2, unsure=False):
    return {"categories": [{"category": first, "probability": p1}, {"category": second, "probability": p2}],
            "unsure": unsure, "unsure_below": 0.6}


def test_a_confident_category_is_named_in_spanish():
    with translation.override("es"):
        tags = _content_tags(_categories("gato", 0.9, "felino", 0.05))
    assert [(t["name"], t["kind"], t["source"]) for t in tags] == [("gato", "category", "imagenet")]


def test_a_second_category_with_a_fair_share_is_named_too():
    with translation.override("es"):
        tags = _content_tags(_categories("fruta_verdura", 0.62, "comida", 0.3))
    assert [t["name"] for t in tags] == ["fruta o verdura", "comida"]


def test_below_the_threshold_the_answer_is_i_dont_know():
    with translation.override("es"):
        (tag,) = _content_tags(_categories("objeto", 0.41, "recipiente", 0.2, unsure=True))
    assert tag["name"] == "No lo sé" and tag["kind"] == "unsure" and tag["score"] == 0.41
    with translation.override("en"):
        assert _content_tags(_categories("perro", 0.95, "gato", 0.01))[0]["name"] == "dog"
