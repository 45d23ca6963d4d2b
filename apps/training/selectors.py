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
    "Full training has not measurably beaten the quick model with your labels (%(full)s %% against %(quick)s %% on "
    "the same %(n)s validation photos): use the quick model, it takes seconds."
)
ONLY_QUICK = _(
    "So far only the quick model has been trained. A full training fine-tunes the network itself and takes several "
    "minutes; its version replaces the active one only if it gets at least as many of the same validation photos right."
)
NOT_COMPARABLE = _(
    "The quick and the full versions have no validation photo in common yet: they cannot be compared. Label more "
    "photos; the next run of either kind is compared on them."
)


@dataclass(frozen=True)
class ModeAdvice:
    """Which kind of training to recommend, from the latest quick and full versions on identical validation photos."""

    case: str  # "quick_not_beaten" | "full_beats_quick" | "only_quick" | "not_comparable"
    mode: str | None  # the kind of training to preselect, None to leave the default
    quick: float | None  # validation accuracy (0..1) of the quick version compared
    full: float | None  # of the full version compared
    validation_n: int | None  # the validation photos both were compared on
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
        "on the same %(n)s validation photos): it is worth the minutes it takes.",
        "Full training beats the quick model by %(points)s points with your labels (%(full)s %% against %(quick)s %% "
        "on the same %(n)s validation photos): it is worth the minutes it takes.",
        1 if points == 1 else 2,
    ) % {"points": formats.number_format(points, places), "full": _percent(full, places),
         "quick": _percent(quick, places), "n": n}


def _latest_servable(project, mode: str):
    versions = (project.model_versions.exclude(status=ModelVersion.Status.FAILED).filter(problem="")
                .select_related("run").order_by("-number"))
    return next((v for v in versions if v.mode == mode and list(v.metadata.get("classes") or []) == list(project.classes)),
                None)


def training_mode_advice(*, project) -> ModeAdvice | None:
    """Compare the latest quick and full versions on the validation photos both predicted (the sealed test share is never read).

    The full version is advised only when it gets measurably more of the same photos right
    (``apps.training.activation.Comparison.verdict``); otherwise the quick model answers as well in
    seconds. Only stored predictions are read: a page view never runs a model. None without a quick version.
    """
    from apps.training.activation import stored_comparison

    quick, full = _latest_servable(project, TrainingRun.Mode.QUICK), _latest_servable(project, TrainingRun.Mode.FULL)
    if quick is None:
        return None
    if full is None:
        return ModeAdvice("only_quick", None, None, None, None, gettext(ONLY_QUICK))
    comparison = stored_comparison(full, quick)
    if comparison is None:
        return ModeAdvice("not_comparable", None, None, None, None, gettext(NOT_COMPARABLE))
    n = comparison.n
    full_accuracy, quick_accuracy = comparison.candidate_correct / n, comparison.reference_correct / n
    if comparison.verdict == "better":
        return ModeAdvice("full_beats_quick", TrainingRun.Mode.FULL, quick_accuracy, full_accuracy, n,
                          _full_beats_quick(full_accuracy, quick_accuracy, n))
    # Not above: shown with the decimals that tell them apart (93 % against 94 %, or 93,6 % against 93,8 %).
    places = 0 if full_accuracy == quick_accuracy else _places(full_accuracy, quick_accuracy)
    text = gettext(QUICK_NOT_BEATEN) % {"full": _percent(full_accuracy, places),
                                        "quick": _percent(quick_accuracy, places), "n": n}
    return ModeAdvice("quick_not_beaten", TrainingRun.Mode.QUICK, quick_accuracy, full_accuracy, n, text)


RUN_QUEUED_AUTOMATIC = _("queued automatically, after %(count)s new labels")
RUN_QUEUED_AUTOMATIC_ONE = _("queued automatically, after 1 new label")
OUTCOME_NO_VERSION = _("This run finished without making a model version.")
TEST_SCORE = _("%(accuracy)s right on %(n)s test photos (95 %% interval %(low)s to %(high)s), photos never used "
               "for training or to choose anything.")
OUTCOME_VERSION = _("This run made version %(number)s: %(score)s")
OUTCOME_VERSION_UNSCORED = _("This run made version %(number)s; the project has no labeled test photos to score it on yet.")
LATEST_VERSION = _("Version %(number)s: %(score)s")
VERSION_UNSCORED = _("Version %(number)s has no test score yet: the project has no labeled test photo to score it on.")
OUTCOME_ACTIVE = _("It is the active model now: analyses use it.")
OUTCOME_REPLACED = _("It was activated; version %(number)s has replaced it since.")
OUTCOME_PINNED = _(
    "It was not activated: you chose the active version by hand, and automatic activation never replaces it. "
    "Activate it on the versions page, or let automatic runs activate again there."
)
OUTCOME_WORSE = _("It was not activated: it got fewer of the same validation photos right than the active version. "
                  "You can still activate it on the versions page.")
OUTCOME_NOT_COMPARABLE = _(
    "It was not activated: it has no labeled validation photo in common with the active version, so it could not be "
    "compared. Label a few more photos, or activate it on the versions page."
)
OUTCOME_MORE_DATA = _("It was activated without a comparison: there is no labeled validation photo in common yet, and "
                      "it learned from every photo the previous version did, and more, with the same recipe.")
OUTCOME_KEPT = _("It was not activated: the active version stays. You can activate it on the versions page.")
KEPT_REASONS = {"pinned": OUTCOME_PINNED, "worse": OUTCOME_WORSE, "no_comparable_score": OUTCOME_NOT_COMPARABLE}


@dataclass(frozen=True)
class RunOutcome:
    """What a finished run made: its version, the version's test score, and whether it was activated (and why not)."""

    version: ModelVersion | None
    summary: str
    activation: str
    activated: bool
    change: str = ""  # did it get better than the version it was compared with, in plain words


def _score_text(accuracy: float) -> str:
    from apps.common.numbers import number_text

    return f"{number_text(100 * accuracy, 1)} %"


def version_test_text(version, *, made_by_run: bool = False) -> str:
    """The version's sealed test score with n and its 95 % interval, in the reader's language."""
    test = version.test_summary
    if test["accuracy"] is None:
        return str((OUTCOME_VERSION_UNSCORED if made_by_run else VERSION_UNSCORED) % {"number": version.number})
    low, high = test["ci95"]
    score = TEST_SCORE % {"accuracy": _score_text(test["accuracy"]), "n": test["n"], "low": _score_text(low),
                          "high": _score_text(high)}
    return str((OUTCOME_VERSION if made_by_run else LATEST_VERSION) % {"number": version.number, "score": score})


INT8_WITHHELD = _("The int8 file is not served: on %(n)s validation photos it got %(int8)s right against %(fp32)s for "
                  "the full-precision file, more than one point less.")
INT8_NOT_JUDGED = _("The int8 file is not served yet: there is no labeled validation photo to check it against the "
                    "full-precision file.")
INT8_HOLDS = _("The int8 file may be served: on %(n)s validation photos it got %(int8)s right against %(fp32)s for the "
               "full-precision file.")


def version_int8_text(version) -> str:
    """Whether the version's int8 file is served and why, in the reader's language ("" without an int8 file)."""
    judged = version.metrics.get("int8")
    if not judged:
        return ""
    if not judged.get("n"):
        return str(INT8_NOT_JUDGED)
    values = {"n": judged["n"], "int8": _score_text(judged["int8_accuracy"]), "fp32": _score_text(judged["fp32_accuracy"])}
    return str((INT8_HOLDS if judged.get("servable") else INT8_WITHHELD) % values)


def version_activation_text(version) -> str:
    """Why the activation rule left a version aside, and how it compared, in the reader's language ("" otherwise)."""
    from apps.training.change import change_sentences

    record = version.activation or {}
    if record.get("decision") != "kept" or record.get("reason") not in KEPT_REASONS:
        return ""
    change = change_sentences(record.get("validation")) if record.get("validation") else ""
    return f"{KEPT_REASONS[record['reason']]} {change}".strip()


def training_run_outcome(*, run) -> RunOutcome | None:
    """Return what a succeeded run made, in the reader's language; None while it runs or when it failed."""
    from apps.training.change import change_sentences

    if run.status != TrainingRun.Status.SUCCEEDED:
        return None
    version = ModelVersion.objects.filter(run=run).select_related("project").first()
    if version is None:
        return RunOutcome(version=None, summary=str(OUTCOME_NO_VERSION), activation="", activated=False)
    summary = version_test_text(version, made_by_run=True)
    record = version.activation or {}
    change = change_sentences(record.get("validation")) if record.get("active_before") else ""
    active = model_version_active(project=version.project)
    if version.status == ModelVersion.Status.ACTIVE:
        text = OUTCOME_MORE_DATA if record.get("reason") == "more_data_no_comparison" else OUTCOME_ACTIVE
        return RunOutcome(version=version, summary=summary, activation=str(text), activated=True, change=change)
    if version.status == ModelVersion.Status.FAILED:
        return RunOutcome(version=version, summary=summary, activation=version.problem, activated=False)
    if version.activated_at is not None:
        replaced = OUTCOME_REPLACED % {"number": active.number if active else "—"}
        return RunOutcome(version=version, summary=summary, activation=replaced, activated=True, change=change)
    reason = KEPT_REASONS.get(record.get("reason"), OUTCOME_KEPT)
    return RunOutcome(version=version, summary=summary, activation=str(reason), activated=False, change=change)


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
