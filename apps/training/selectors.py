from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.utils import formats
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from apps.common.exceptions import NotFoundError
from apps.projects.selectors import project_list
from apps.training.models import ModelVersion, TrainingRun

RUN_NOT_FOUND = _("The training run does not exist or you cannot see it.")
VERSION_NOT_FOUND = _("The model version does not exist or you cannot see it.")


def training_run_list(*, user, project=None):
    qs = TrainingRun.objects.filter(project__in=project_list(user=user)).select_related("project", "requested_by")
    return qs.filter(project=project) if project is not None else qs


def training_run_get(*, user, run_id) -> TrainingRun:
    run = training_run_list(user=user).filter(pk=run_id).first()
    if run is None:
        raise NotFoundError(RUN_NOT_FOUND)
    return run


def model_version_list(*, user, project=None):
    qs = ModelVersion.objects.filter(project__in=project_list(user=user)).select_related("project", "run")
    return qs.filter(project=project) if project is not None else qs


def model_version_get(*, user, version_id) -> ModelVersion:
    version = model_version_list(user=user).filter(pk=version_id).first()
    if version is None:
        raise NotFoundError(VERSION_NOT_FOUND)
    return version


def model_version_active(*, project) -> ModelVersion | None:
    return project.model_versions.filter(status=ModelVersion.Status.ACTIVE).first()


def card_variants(card: dict) -> dict[str, dict]:
    """Each exported variant of a model card: file size, gzip size, median latency (ms) and holdout accuracy.

    The engine writes these in three sections (``sizes``, ``latency`` as p50/p95/n, ``variants``);
    the versions page and the lab's compression page read them here.
    """
    sizes, latency, variants = card.get("sizes") or {}, card.get("latency") or {}, card.get("variants") or {}
    return {
        name: {
            "bytes": (sizes.get(name) or {}).get("bytes"),
            "gzip_bytes": (sizes.get(name) or {}).get("gzip_bytes"),
            "p50_ms": (latency.get(name) or {}).get("p50"),
            "accuracy": (variants.get(name) or {}).get("accuracy"),
        }
        for name in sorted(set(sizes) | set(latency) | set(variants))
    }


QUICK_NOT_BEATEN = _(
    "Full training has not beaten the quick model with your labels (%(full)s %% against %(quick)s %% on the same "
    "%(n)s holdout photos): use the quick model, it takes seconds."
)
ONLY_QUICK = _(
    "So far only the quick model has been trained: %(quick)s %% on %(n)s holdout photos. A full training fine-tunes "
    "the network itself and takes several minutes; its version replaces the active one only if it scores at least as "
    "well on the same holdout photos."
)
NOT_COMPARABLE = _(
    "The quick and the full versions were scored on different holdout photos (%(quick_n)s and %(full_n)s): they "
    "cannot be compared yet. A new run of either kind is scored on today's holdout photos."
)


@dataclass(frozen=True)
class ModeAdvice:
    """Which kind of training to recommend, from the project's versions' scores on the same holdout photos."""

    case: str  # "quick_not_beaten" | "full_beats_quick" | "only_quick" | "not_comparable"
    mode: str | None  # the kind of training to preselect, None to leave the default
    quick: float | None  # holdout accuracy (0..1) of the best quick version compared
    full: float | None  # of the best full version compared
    holdout_n: int | None  # the holdout photos both were scored on
    text: str  # the advice, in the active language, numbers in its format


def _rounded(value: float, places: int) -> Decimal:
    """Return a 0..1 accuracy as a percentage rounded half up (0.965 is 97 %, as a reader rounds it)."""
    return (Decimal(str(value)) * 100).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _percent(value: float, places: int = 0) -> str:
    """Return a 0..1 accuracy as a percentage in the active language's format (93,5 in Spanish)."""
    return formats.number_format(_rounded(value, places), places)


def _places(full: float, quick: float) -> int:
    """Return the fewest decimals (up to two) that show two different accuracies apart."""
    return next((p for p in (0, 1) if _rounded(full, p) != _rounded(quick, p)), 2)


def _full_beats_quick(full: float, quick: float, n: int) -> str:
    """Say by how many points the full version beats the quick one, as the percentages shown beside it differ."""
    places = _places(full, quick)
    points = _rounded(full, places) - _rounded(quick, places)
    return ngettext(
        "Full training beats the quick model by %(points)s point with your labels (%(full)s %% against %(quick)s %% "
        "on the same %(n)s holdout photos): it is worth the minutes it takes.",
        "Full training beats the quick model by %(points)s points with your labels (%(full)s %% against %(quick)s %% "
        "on the same %(n)s holdout photos): it is worth the minutes it takes.",
        1 if points == 1 else 2,
    ) % {"points": formats.number_format(points, places), "full": _percent(full, places),
         "quick": _percent(quick, places), "n": n}


def training_mode_advice(*, project) -> ModeAdvice | None:
    """Compare the best quick version with the best full version of the project on the same holdout photos.

    Only versions that can be served, with the project's classes and a holdout score count. Every photo's
    holdout membership is fixed by its hash, so versions scored on as many holdout photos were scored on the
    same photos; the comparison uses the largest holdout both kinds were scored on. Ties go to the quick
    model: it answers as well in seconds. None when the project has no scored quick version.
    """
    versions = (project.model_versions.exclude(status=ModelVersion.Status.FAILED)
                .filter(problem="", holdout_accuracy__isnull=False, holdout_n__gt=0))
    best: dict = {}  # (mode, holdout_n) -> the best accuracy of that kind on that holdout
    for version in versions:
        if list(version.metadata.get("classes") or []) != list(project.classes):
            continue
        key = (version.mode, version.holdout_n)
        best[key] = max(best.get(key, 0.0), version.holdout_accuracy)
    quick_ns = sorted((n for mode, n in best if mode == "quick"), reverse=True)
    full_ns = sorted((n for mode, n in best if mode == "full"), reverse=True)
    if not quick_ns:
        return None
    if not full_ns:
        n = quick_ns[0]
        quick = best[("quick", n)]
        return ModeAdvice("only_quick", None, quick, None, n,
                          gettext(ONLY_QUICK) % {"quick": _percent(quick), "n": n})
    shared = [n for n in quick_ns if n in full_ns]
    if not shared:
        return ModeAdvice("not_comparable", None, best[("quick", quick_ns[0])], best[("full", full_ns[0])], None,
                          gettext(NOT_COMPARABLE) % {"quick_n": quick_ns[0], "full_n": full_ns[0]})
    n = shared[0]
    quick, full = best[("quick", n)], best[("full", n)]
    if full > quick:
        return ModeAdvice("full_beats_quick", "full", quick, full, n, _full_beats_quick(full, quick, n))
    # Not above: shown with the decimals that tell them apart (93 % against 94 %, or 93,6 % against 93,8 %).
    places = 0 if full == quick else _places(full, quick)
    text = gettext(QUICK_NOT_BEATEN) % {"full": _percent(full, places), "quick": _percent(quick, places), "n": n}
    return ModeAdvice("quick_not_beaten", "quick", quick, full, n, text)


RUN_QUEUED_AUTOMATIC = _("queued automatically, after %(count)s new labels")
RUN_QUEUED_AUTOMATIC_ONE = _("queued automatically, after 1 new label")
OUTCOME_NO_VERSION = _("This run finished without making a model version.")
OUTCOME_VERSION = _("This run made version %(number)s: %(accuracy)s right on %(n)s test photos, never used for training.")
OUTCOME_VERSION_UNSCORED = _("This run made version %(number)s; the project has no labeled test photos to score it on yet.")
OUTCOME_ACTIVE = _("It is the active model now: analyses use it.")
OUTCOME_REPLACED = _("It was activated; version %(number)s has replaced it since.")
OUTCOME_PINNED = _(
    "It was not activated: you chose the active version by hand, and automatic runs never replace it. "
    "Activate it on the versions page, or let automatic runs activate again there."
)
OUTCOME_WORSE = _(
    "It was not activated: it got %(accuracy)s right against %(active)s for the active version %(number)s on the same "
    "test photos. You can still activate it on the versions page."
)
OUTCOME_KEPT = _("It was not activated: the active version stays. You can activate it on the versions page.")


@dataclass(frozen=True)
class RunOutcome:
    """What a finished run made: its version, the version's test score, and whether it was activated (and why not)."""

    version: ModelVersion | None
    summary: str
    activation: str
    activated: bool


def _score_text(accuracy: float) -> str:
    from apps.common.numbers import number_text

    return f"{number_text(100 * accuracy, 1)} %"


def training_run_outcome(*, run) -> RunOutcome | None:
    """Return what a succeeded run made, in the reader's language; None while it runs or when it failed."""
    if run.status != TrainingRun.Status.SUCCEEDED:
        return None
    version = ModelVersion.objects.filter(run=run).select_related("project").first()
    if version is None:
        return RunOutcome(version=None, summary=str(OUTCOME_NO_VERSION), activation="", activated=False)
    if version.holdout_accuracy is None or not version.holdout_n:
        summary = OUTCOME_VERSION_UNSCORED % {"number": version.number}
    else:
        summary = OUTCOME_VERSION % {"number": version.number, "accuracy": _score_text(version.holdout_accuracy),
                                     "n": version.holdout_n}
    active = model_version_active(project=version.project)
    if version.status == ModelVersion.Status.ACTIVE:
        return RunOutcome(version=version, summary=summary, activation=str(OUTCOME_ACTIVE), activated=True)
    if version.status == ModelVersion.Status.FAILED:
        return RunOutcome(version=version, summary=summary, activation=version.problem, activated=False)
    if version.activated_at is not None:
        replaced = OUTCOME_REPLACED % {"number": active.number if active else "—"}
        return RunOutcome(version=version, summary=summary, activation=replaced, activated=True)
    if run.automatic and version.project.model_pinned:
        reason = str(OUTCOME_PINNED)
    elif active is not None and active.holdout_accuracy is not None and version.holdout_accuracy is not None \
            and version.holdout_accuracy < active.holdout_accuracy:
        reason = OUTCOME_WORSE % {"accuracy": _score_text(version.holdout_accuracy),
                                  "active": _score_text(active.holdout_accuracy), "number": active.number}
    else:
        reason = str(OUTCOME_KEPT)
    return RunOutcome(version=version, summary=summary, activation=reason, activated=False)


def automatic_run_new_labels(*, run) -> int:
    """How many labels arrived between the previous quick run of the project and this automatic one (what started it)."""
    from apps.labeling.models import Label

    previous = (run.project.training_runs.filter(mode=TrainingRun.Mode.QUICK, created_at__lt=run.created_at)
                .exclude(status=TrainingRun.Status.CANCELLED).order_by("-created_at").first())
    labels = Label.objects.filter(image__project=run.project, created_at__lte=run.created_at)
    return (labels.filter(created_at__gt=previous.created_at) if previous else labels).count()


def training_run_log_lines(*, run, entries) -> list[str]:
    """Render log entries of the run; an automatic run's queued line says it was automatic and after how many labels."""
    from apps.training.events import log_text

    lines = []
    for entry in entries:
        line = log_text(entry)
        if run.automatic and isinstance(entry, dict) and entry.get("key") == "run.queued":
            count = automatic_run_new_labels(run=run)
            text = RUN_QUEUED_AUTOMATIC_ONE if count == 1 else RUN_QUEUED_AUTOMATIC % {"count": count}
            line = log_text({**entry, "key": "", "params": {}}).rstrip() + " " + str(text)
            line = line.strip()
        lines.append(line)
    return lines


def stage_typical_seconds(*, project, runs: int = 5) -> dict[str, float]:
    """Return the median seconds of each stage over the project's last full versions (their cards' timings).

    The run page says how long the stage it shows usually takes here, so a long stage reads as work, not as a hang.
    """
    from statistics import median

    cards = (ModelVersion.objects.filter(project=project, run__mode=TrainingRun.Mode.FULL)
             .order_by("-number").values_list("metadata", flat=True)[:runs])
    per_stage: dict[str, list[float]] = {}
    for card in cards:
        for stage, seconds in ((card or {}).get("timings") or {}).get("stages", {}).items():
            if isinstance(seconds, (int, float)):
                per_stage.setdefault(stage, []).append(float(seconds))
    return {stage: round(median(values), 1) for stage, values in per_stage.items()}
