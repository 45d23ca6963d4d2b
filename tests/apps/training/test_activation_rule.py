"""The activation rule's cases, one each, and the paired verdict its wording follows."""
import pytest
from django.utils import translation

from apps.training.activation import Comparison, _decide, sign_test_p
from apps.training.change import change_sentences
from apps.training.models import ModelVersion, TrainingRun

pytestmark = pytest.mark.django_db


def _version(world, number, *, mode="quick", trained_on=()):
    run = TrainingRun.objects.create(project=world.project, requested_by=world.teacher, mode=mode,
                                     status=TrainingRun.Status.SUCCEEDED,
                                     dataset_snapshot=[[pk, "gato", "train"] for pk in trained_on])
    metadata = {"classes": list(world.project.classes), **({"mode": "quick"} if mode == "quick" else {})}
    return ModelVersion.objects.create(project=world.project, number=number, run=run, artifact_dir=f"v{number}",
                                       metadata=metadata)


def _comparison(ours, theirs, n=20):
    return Comparison(n=n, candidate_correct=ours, reference_correct=theirs, candidate_only=max(0, ours - theirs),
                      reference_only=max(0, theirs - ours), p_value=sign_test_p(max(0, ours - theirs),
                                                                                max(0, theirs - ours)),
                      reference_number=1)


def test_the_pin_wins_over_any_score(world):
    active, candidate = _version(world, 1), _version(world, 2)
    assert _decide(candidate, active, True, _comparison(20, 10)) == (False, "pinned")


def test_the_first_version_is_activated(world):
    assert _decide(_version(world, 1), None, False, None) == (True, "first")


def test_without_a_common_photo_only_more_data_with_the_same_recipe_activates(world):
    active = _version(world, 1, trained_on=[1, 2, 3])
    assert _decide(_version(world, 2, trained_on=[1, 2, 3, 4]), active, False, None) == (True, "more_data_no_comparison")
    assert _decide(_version(world, 3, trained_on=[1, 2, 3]), active, False, None) == (False, "no_comparable_score")
    assert _decide(_version(world, 4, trained_on=[1, 2, 4, 5]), active, False, None) == (False, "no_comparable_score")
    full = _version(world, 5, mode="full", trained_on=[1, 2, 3, 4])
    assert _decide(full, active, False, None) == (False, "no_comparable_score")


def test_on_common_photos_fewer_right_is_kept_and_ties_go_to_the_new_version(world):
    active, candidate = _version(world, 1), _version(world, 2)
    assert _decide(candidate, active, False, _comparison(18, 19)) == (False, "worse")
    assert _decide(candidate, active, False, _comparison(19, 19)) == (True, "not_worse")


def test_the_verdict_needs_more_than_chance_on_the_photos_they_disagree_on():
    assert _comparison(19, 13).verdict == "better"  # 6 to 0: chance gives it 3 times in 100
    assert _comparison(18, 13).verdict == "same"  # 5 to 0: 6 times in 100
    assert _comparison(13, 19).verdict == "worse"


def test_the_wording_of_a_drop_on_fourteen_photos():
    """A drop of one photo on 14 is «sin cambio medible», and says a photo is 7,1 points; never «aprendió»."""
    record = {**_comparison(12, 13, n=14).as_dict()}
    with translation.override("es"):
        text = change_sentences(record)
    assert text == ("Sin cambio medible respecto a la versión 1: acertó 12 de 14 fotos de validación, frente a 13, "
                    "en las mismas fotos. Con 14 fotos de validación, una diferencia de 7,1 puntos es una sola foto.")
    with translation.override("es"):
        assert change_sentences(_comparison(2, 12, n=14).as_dict()).startswith("Peor que la versión 1")
        assert change_sentences(None).startswith("No se pudo comparar")
