"""Reads of the gradebook: one row of figures per student, grades, reviews and the access log."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Max, Q, QuerySet

from apps.gradebook.models import (
    AccessLog,
    AnalysisRequest,
    ContributionSnapshot,
    CoursePolicy,
    FeedbackEntry,
    QuizAnswer,
    Review,
    ScoreEntry,
)
from apps.lab.models import LabExperiment
from apps.labeling.models import Label
from apps.projects.models import Membership
from apps.uploads.models import Image

logger = logging.getLogger(__name__)


@dataclass
class StudentRow:
    """One student's line of the gradebook; a figure without data is None."""

    username: str
    user_id: int
    uploads: int | None = 0
    labels: int | None = 0
    agreement: float | None = None
    gold_accuracy: float | None = None
    analyses_server: int = 0
    analyses_browser: int = 0
    experiments: int = 0
    quiz_answered: int = 0
    quiz_correct: int = 0
    last_activity: datetime | None = None
    scores: dict = field(default_factory=dict)  # criterion id (str) -> points
    total: float | None = None
    comment: str = ""

    @property
    def analyses(self) -> int:
        return self.analyses_server + self.analyses_browser

    @property
    def lab(self) -> dict:
        return {"experiments": self.experiments, "quiz_answered": self.quiz_answered, "quiz_correct": self.quiz_correct}


@dataclass(frozen=True)
class Gradebook:
    """A project's rubric and its students' rows."""

    rubric: list
    students: list[StudentRow]

    @property
    def max_total(self) -> float:
        return sum(c.points for c in self.rubric)


def project_students(*, project) -> QuerySet:
    """Return the project's student memberships with their users, by username."""
    return (
        Membership.objects.filter(project=project, role=Membership.Role.STUDENT)
        .select_related("user")
        .order_by("user__username")
    )


def label_quality_figures(*, project) -> dict:
    """Return {username: {"agreement", "gold_accuracy"}} from apps.labeling's label quality; {} until it exists.

    The label-quality service is optional here: without it (or when it fails) the figures are None.
    """
    try:
        from apps.labeling.quality import label_quality
    except ImportError:
        return {}
    try:
        quality = label_quality(project, suspects=False)  # the suspects' ranking is not needed here
    except Exception:  # a failing quality computation must not take the gradebook down
        logger.exception("label quality of project %s failed", project.pk)
        return {}
    return {
        row.username: {"agreement": row.agreement, "gold_accuracy": row.gold_accuracy} for row in quality.students
    }


def current_scores(*, project, student) -> dict:
    """Return {criterion id: points} of the newest entry per criterion (None when cleared)."""
    scores = {}
    for entry in ScoreEntry.objects.filter(project=project, student=student).order_by("-created_at", "-id"):
        scores.setdefault(entry.criterion_id, entry.points)
    return scores


def current_comment(*, project, student) -> str:
    entry = FeedbackEntry.objects.filter(project=project, student=student).order_by("-created_at", "-id").first()
    return entry.comment if entry else ""


def _counts(qs, user_field: str, **extra) -> dict:
    rows = qs.values(user_field).annotate(n=Count("id"), last=Max("created_at"), **extra)
    return {row[user_field]: row for row in rows}


def gradebook_get(*, project, usernames: list[str] | None = None) -> Gradebook:
    """Return the project's rubric and one row per student (only ``usernames`` when given)."""
    memberships = project_students(project=project)
    if usernames is not None:
        memberships = memberships.filter(user__username__in=usernames)
    users = [m.user for m in memberships]
    ids = [u.pk for u in users]
    rubric = list(project.criteria.all())
    uploads = _counts(Image.objects.filter(project=project, uploader_id__in=ids), "uploader_id")
    # Photos labeled, not labeling acts: changing one's answer on a photo does not count twice.
    labels = {
        row["author_id"]: row
        for row in Label.objects.filter(image__project=project, author_id__in=ids)
        .exclude(label="")
        .values("author_id")
        .annotate(n=Count("image_id", distinct=True), last=Max("created_at"))
    }
    requests = _counts(
        AnalysisRequest.objects.filter(project=project, requester_id__in=ids),
        "requester_id",
        browser=Count("id", filter=Q(ran_on=AnalysisRequest.RanOn.BROWSER)),
    )
    experiments = _counts(LabExperiment.objects.filter(project=project, requested_by_id__in=ids), "requested_by_id")
    quizzes = _quiz_counts(project=project, ids=ids)
    quality = label_quality_figures(project=project) if users else {}
    snapshots = {s.student_id: s.figures for s in ContributionSnapshot.objects.filter(project=project, student_id__in=ids)}
    scores = {}
    for entry in ScoreEntry.objects.filter(project=project, student_id__in=ids).order_by("-created_at", "-id"):
        scores.setdefault(entry.student_id, {}).setdefault(entry.criterion_id, entry.points)
    comments = {}
    for entry in FeedbackEntry.objects.filter(project=project, student_id__in=ids).order_by("-created_at", "-id"):
        comments.setdefault(entry.student_id, entry.comment)
    rows = []
    for user in users:
        snapshot = snapshots.get(user.pk, {})
        row = StudentRow(username=user.username, user_id=user.pk)
        row.uploads = uploads.get(user.pk, {}).get("n", 0) + snapshot.get("uploads", 0)
        row.labels = labels.get(user.pk, {}).get("n", 0) + snapshot.get("labels", 0)
        live = quality.get(user.username) or {}
        # After retention the labels are gone: the figures kept at that time stand until new labels come.
        figures = live if any(v is not None for v in live.values()) else snapshot.get("quality") or live
        row.agreement = figures.get("agreement")
        row.gold_accuracy = figures.get("gold_accuracy")
        req = requests.get(user.pk, {})
        row.analyses_browser = req.get("browser", 0)
        row.analyses_server = req.get("n", 0) - row.analyses_browser
        row.experiments = experiments.get(user.pk, {}).get("n", 0)
        row.quiz_answered, row.quiz_correct, quiz_last = quizzes.get(user.pk, (0, 0, None))
        times = [
            uploads.get(user.pk, {}).get("last"),
            labels.get(user.pk, {}).get("last"),
            req.get("last"),
            experiments.get(user.pk, {}).get("last"),
            quiz_last,
        ]
        times = [t for t in times if t is not None]
        row.last_activity = max(times) if times else None
        given = {cid: pts for cid, pts in scores.get(user.pk, {}).items() if pts is not None}
        row.scores = {str(c.pk): given[c.pk] for c in rubric if c.pk in given}
        row.total = round(sum(row.scores.values()), 2) if row.scores else None
        row.comment = comments.get(user.pk, "")
        rows.append(row)
    return Gradebook(rubric=rubric, students=rows)


def _quiz_counts(*, project, ids) -> dict:
    """Return {user id: (questions answered, questions right at the first try, last answer time)}.

    A question counts once it was answered in this project; whether it was right at the first try is
    decided by the student's first answer to it anywhere (another class, or the lab outside a class):
    later answers may be retries, so answering wrong elsewhere and right here is not a first try.
    """
    first = {}
    here = set()
    last = {}
    for user_id, question, correct, created, project_id in (
        QuizAnswer.objects.filter(user_id__in=ids)
        .order_by("created_at", "id")
        .values_list("user_id", "question", "correct", "created_at", "project_id")
    ):
        first.setdefault((user_id, question), correct)
        if project_id == project.pk:
            here.add((user_id, question))
            last[user_id] = created
    counts = {}
    for user_id, question in here:
        answered, right, _ = counts.get(user_id, (0, 0, None))
        counts[user_id] = (answered + 1, right + int(first[user_id, question]), last[user_id])
    return counts


def grade_history(*, project, student) -> list:
    """Every score and comment given to a student, newest first, with who and when."""
    scores = list(ScoreEntry.objects.filter(project=project, student=student).select_related("author", "criterion"))
    comments = list(FeedbackEntry.objects.filter(project=project, student=student).select_related("author"))
    return sorted(scores + comments, key=lambda entry: (entry.created_at, entry.pk), reverse=True)


def reviews_for_run(*, run) -> QuerySet[Review]:
    """Reviews of a training run and of the version it produced, oldest first."""
    version_id = getattr(getattr(run, "model_version", None), "pk", None)
    where = Q(training_run=run) | Q(model_version_id=version_id) if version_id else Q(training_run=run)
    return Review.objects.filter(where).select_related("author", "model_version")


def review_list(*, version) -> QuerySet[Review]:
    """Reviews of a model version and of the run that produced it, oldest first."""
    where = Q(model_version=version) | Q(training_run_id=version.run_id) if version.run_id else Q(model_version=version)
    return Review.objects.filter(where).select_related("author", "model_version")


def access_log(*, project) -> QuerySet[AccessLog]:
    return AccessLog.objects.filter(project=project).select_related("viewer", "student")


def course_policy(*, project) -> CoursePolicy:
    """Return the project's course policy (unsaved defaults when none was set)."""
    return CoursePolicy.objects.filter(project=project).first() or CoursePolicy(project=project)


def student_disagreements(*, project, student, limit: int = 60) -> list[Label]:
    """The student's latest labels in the project that differ from the label that counts."""
    latest = {}
    for label in Label.objects.filter(image__project=project, author=student).select_related("image").order_by(
        "-created_at", "-id"
    ):
        latest.setdefault(label.image_id, label)
    return [
        label
        for label in latest.values()
        if label.label and label.image.label and label.label != label.image.label
    ][:limit]


def student_labels(*, project, student) -> QuerySet[Label]:
    """The student's labeling acts in the project, newest first, with their images."""
    return Label.objects.filter(image__project=project, author=student).select_related("image").order_by("-created_at", "-id")
