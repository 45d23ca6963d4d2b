"""The one activation rule: which version a project serves, decided once, under the project's row lock.

    teacher's pin (a version chosen by hand)     -> kept: automatic activation never changes the pin
    no active version                            -> activated ("first")
    compared on identical validation photos      -> activated unless it got fewer of them right
    nothing to compare on (no common photo)      -> activated only when it learned from every photo the
                                                    active version did and more, with the same recipe;
                                                    kept otherwise, and the page says why

Validation photos are never trained on (a photo lent to a class too small to train is listed as
trained on in its run's snapshot and left out of comparisons). The sealed test share is never read
here. Predictions are made before taking the lock (they can take seconds); inside it the pin, the
active version and both versions' stored predictions are re-read, so a quick and a full publish of
one project, or a publish and a teacher's pin, are serialized and decided on what is true then.
"""
from dataclasses import asdict, dataclass

from django.db import transaction
from django.utils import timezone

from apps.projects.models import Project
from apps.training.evaluation import validation_images, version_predictions, version_trained_on
from apps.training.models import ModelVersion

SIGNIFICANCE = 0.05  # a paired difference counts when chance alone would give it less than 1 time in 20


@dataclass(frozen=True)
class Comparison:
    """Two versions on the same validation photos: how many each got right, and what that shows."""

    n: int
    candidate_correct: int
    reference_correct: int
    candidate_only: int  # photos only the candidate got right
    reference_only: int  # photos only the reference got right
    p_value: float
    reference_number: int

    @property
    def verdict(self) -> str:
        """"better", "worse" or "same" (no measurable change), by an exact sign test on the photos they disagree on."""
        if self.p_value < SIGNIFICANCE:
            return "better" if self.candidate_only > self.reference_only else "worse"
        return "same"

    @property
    def points_per_photo(self) -> float:
        return 100.0 / self.n if self.n else 0.0

    def as_dict(self) -> dict:
        return {**asdict(self), "verdict": self.verdict, "candidate_accuracy": self.candidate_correct / self.n,
                "reference_accuracy": self.reference_correct / self.n}


def sign_test_p(wins: int, losses: int) -> float:
    """Two-sided exact binomial p-value of ``wins`` against ``losses`` when both are equally likely."""
    from scipy.stats import binomtest

    return 1.0 if wins + losses == 0 else float(binomtest(wins, wins + losses, 0.5).pvalue)


def validation_predictions_fill(version, images) -> dict:
    """Predict the validation photos a version has not predicted yet; store and return all its predictions."""
    known = {int(k): v for k, v in (version.validation_predictions or {}).items()}
    missing = [image for image in images if image.pk not in known]
    if missing:
        known.update(zip([image.pk for image in missing], version_predictions(version, missing), strict=True))
        stored = {str(k): v for k, v in known.items()}
        ModelVersion.objects.filter(pk=version.pk).update(validation_predictions=stored)
        version.validation_predictions = stored
    return known


def versions_compare(candidate, reference, images=None) -> Comparison | None:
    """Compare two versions on the validation photos both predicted and neither trained on (None: no such photo)."""
    images = validation_images(candidate.project) if images is None else images
    excluded = version_trained_on(candidate) | version_trained_on(reference)
    images = [image for image in images if image.pk not in excluded]
    ours = validation_predictions_fill(candidate, images)
    theirs = validation_predictions_fill(reference, images)
    return _compare(ours, theirs, images, reference.number)


def _compare(ours: dict, theirs: dict, images, reference_number: int) -> Comparison | None:
    common = [image for image in images if image.pk in ours and image.pk in theirs]
    if not common:
        return None
    right = [(ours[i.pk] == i.label, theirs[i.pk] == i.label) for i in common]
    wins = sum(a and not b for a, b in right)
    losses = sum(b and not a for a, b in right)
    return Comparison(n=len(common), candidate_correct=sum(a for a, _ in right),
                      reference_correct=sum(b for _, b in right), candidate_only=wins, reference_only=losses,
                      p_value=sign_test_p(wins, losses), reference_number=reference_number)


def _learned_more(candidate, active) -> bool:
    """Whether the candidate was fitted on every photo the active version was, and more, with the same recipe."""
    if candidate.mode != active.mode or not candidate.run_id or not active.run_id:
        return False
    ours, theirs = version_trained_on(candidate), version_trained_on(active)
    return theirs < ours


def _decide(candidate, active, pinned: bool, comparison: Comparison | None) -> tuple[bool, str]:
    if pinned:
        return False, "pinned"
    if active is None:
        return True, "first"
    if comparison is None:
        if _learned_more(candidate, active):
            return True, "more_data_no_comparison"
        return False, "no_comparable_score"
    if comparison.candidate_correct >= comparison.reference_correct:
        return True, "not_worse"
    return False, "worse"


def model_version_decide(version) -> ModelVersion:
    """Apply the activation rule to a new servable version; record the decision on it; return it."""
    active = _active(version.project_id)
    if active is not None and active.pk != version.pk:
        versions_compare(version, active)  # predicting is the slow part: done before taking the lock
    with transaction.atomic():
        project = Project.objects.select_for_update().get(pk=version.project_id)
        # Re-read under the lock: the pin, the active version, both predictions and today's labels.
        version = ModelVersion.objects.select_related("run", "project").get(pk=version.pk)
        active = _active(project.pk)
        comparison = versions_compare(version, active) if active is not None else None
        activate, reason = _decide(version, active, project.model_pinned, comparison)
        record = {"decision": "activated" if activate else "kept", "reason": reason, "at": timezone.now().isoformat(),
                  "active_before": active.number if active else None,
                  "validation": comparison.as_dict() if comparison else None}
        ModelVersion.objects.filter(pk=version.pk).update(activation=record)
        if activate:
            _activate_locked(version, pin=None)
    version.refresh_from_db()
    return version


def _active(project_id):
    return ModelVersion.objects.select_related("run").filter(project_id=project_id,
                                                              status=ModelVersion.Status.ACTIVE).first()


def _activate_locked(version, *, pin: bool | None) -> None:
    """Flip the project's pointer to ``version`` (caller holds the project's row lock); ``pin`` None keeps the pin."""
    ModelVersion.objects.filter(project_id=version.project_id, status=ModelVersion.Status.ACTIVE).exclude(
        pk=version.pk).update(status=ModelVersion.Status.ARCHIVED)
    ModelVersion.objects.filter(pk=version.pk).update(status=ModelVersion.Status.ACTIVE, activated_at=timezone.now())
    if pin is not None:
        Project.objects.filter(pk=version.project_id).update(model_pinned=pin)


def model_version_activate_by_hand(version) -> None:
    """A teacher's choice (or rollback): activate under the lock and pin it; automatic runs then leave it."""
    with transaction.atomic():
        Project.objects.select_for_update().get(pk=version.project_id)
        _activate_locked(version, pin=True)
        ModelVersion.objects.filter(pk=version.pk).update(
            activation={**(version.activation or {}), "decision": "activated", "reason": "by_hand",
                        "at": timezone.now().isoformat()})


def stored_comparison(candidate, reference) -> Comparison | None:
    """Compare two versions from the predictions they already stored (a page view never runs a model)."""
    excluded = version_trained_on(candidate) | version_trained_on(reference)
    images = [image for image in validation_images(candidate.project) if image.pk not in excluded]
    ours = {int(k): v for k, v in (candidate.validation_predictions or {}).items()}
    theirs = {int(k): v for k, v in (reference.validation_predictions or {}).items()}
    return _compare(ours, theirs, images, reference.number)
