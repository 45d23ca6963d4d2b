"""Writes of the gradebook: rubric, scores and feedback, reviews, activity records and the access log."""
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.common.exceptions import ApplicationError, NotFoundError, PermissionDeniedError
from apps.common.numbers import number_text
from apps.gradebook.models import (
    AccessLog,
    AnalysisRequest,
    Criterion,
    FeedbackEntry,
    QuizAnswer,
    Review,
    ScoreEntry,
)
from apps.lab.quizzes import BY_ID
from apps.projects.access import project_role
from apps.projects.models import Membership

GRADER_ROLES = ("staff", Membership.Role.TEACHER, Membership.Role.GRADER)

ONLY_TEACHER_EDITS_RUBRIC = _("Only the project's teacher can change the rubric.")
ONLY_GRADERS_SCORE = _("Only the project's teacher and graders can score students.")
ONLY_GRADERS_REVIEW = _("Only the project's teacher and graders can review runs and versions.")
UNKNOWN_STUDENT = _("There is no student with that username in this project.")
UNKNOWN_CRITERION = _("The rubric of this project has no criterion %(id)s.")
SCORE_OUT_OF_RANGE = _("The score for “%(name)s” must be between 0 and %(points)s.")
BAD_CRITERION = _("A criterion needs a name and between 0.5 and 1000 points.")
EMPTY_REVIEW = _("Write a comment.")
UNKNOWN_QUESTION = _("There is no such question.")
UNKNOWN_OPTION = _("That question has no such option.")
COMMENT_MAX = 5000
# The same read again this soon (photos opened one after another, a page reloaded) adds no line: the log
# says who read whose data and when, and stays short enough for the teacher to read.
ACCESS_LOG_REPEAT = timedelta(minutes=10)


def can_grade(*, user, project) -> bool:
    """Score, comment and open students' histories: the project's teacher and graders, or staff."""
    return project_role(user=user, project=project) in GRADER_ROLES


def project_student(*, project, username: str):
    """Return the project's student with that username, or raise a 400 naming the problem."""
    membership = (
        Membership.objects.filter(project=project, role=Membership.Role.STUDENT, user__username=username)
        .select_related("user")
        .first()
    )
    if membership is None:
        raise ApplicationError(UNKNOWN_STUDENT)
    return membership.user


def _check_criterion(name: str, points) -> tuple[str, float]:
    name = (name or "").strip()
    try:
        points = float(points)
    except (TypeError, ValueError):
        raise ApplicationError(BAD_CRITERION) from None
    if not name or len(name) > 120 or not 0.5 <= points <= 1000:
        raise ApplicationError(BAD_CRITERION)
    return name, points


def criterion_create(*, project, user, name: str, points) -> Criterion:
    """Add a criterion at the end of the project's rubric (the project's teacher only)."""
    if project_role(user=user, project=project) not in ("staff", Membership.Role.TEACHER):
        raise PermissionDeniedError(ONLY_TEACHER_EDITS_RUBRIC)
    name, points = _check_criterion(name, points)
    position = project.criteria.count()
    return Criterion.objects.create(project=project, name=name, points=points, position=position)


def criterion_update(*, criterion, user, name: str, points) -> Criterion:
    """Rename a criterion or change its points (the project's teacher only)."""
    if project_role(user=user, project=criterion.project) not in ("staff", Membership.Role.TEACHER):
        raise PermissionDeniedError(ONLY_TEACHER_EDITS_RUBRIC)
    criterion.name, criterion.points = _check_criterion(name, points)
    criterion.save(update_fields=["name", "points"])
    return criterion


def criterion_delete(*, criterion, user) -> None:
    """Remove a criterion and the scores given on it (the project's teacher only)."""
    if project_role(user=user, project=criterion.project) not in ("staff", Membership.Role.TEACHER):
        raise PermissionDeniedError(ONLY_TEACHER_EDITS_RUBRIC)
    criterion.delete()


def _clean_scores(project, scores: dict) -> dict:
    """Return {Criterion: points or None}; unknown criteria and points out of range are a 400."""
    criteria = {str(c.pk): c for c in project.criteria.all()}
    cleaned = {}
    for key, value in scores.items():
        criterion = criteria.get(str(key))
        if criterion is None:
            raise ApplicationError(UNKNOWN_CRITERION % {"id": key})
        if value is None:
            cleaned[criterion] = None
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= criterion.points:
            raise ApplicationError(SCORE_OUT_OF_RANGE % {"name": criterion.name, "points": number_text(criterion.points)})
        cleaned[criterion] = float(value)
    return cleaned


@dataclass(frozen=True)
class GradeChange:
    """What one grading call wrote: scores that changed and whether the comment did."""

    scores_written: int
    comment_written: bool


def grade_update(*, project, author, username: str, scores: dict, comment: str | None) -> GradeChange:
    """Record a student's scores and comment; only changes are written, as new rows that keep the history."""
    from apps.gradebook.selectors import current_comment, current_scores

    if not can_grade(user=author, project=project):
        raise PermissionDeniedError(ONLY_GRADERS_SCORE)
    student = project_student(project=project, username=username)
    cleaned = _clean_scores(project, scores or {})
    if comment is not None and len(comment) > COMMENT_MAX:
        raise ApplicationError(_("The comment is too long (at most %(n)s characters).") % {"n": COMMENT_MAX})
    with transaction.atomic():
        before = current_scores(project=project, student=student)
        written = 0
        for criterion, points in cleaned.items():
            if before.get(criterion.pk) != points:
                ScoreEntry.objects.create(
                    project=project, student=student, criterion=criterion, points=points, author=author
                )
                written += 1
        comment_written = False
        if comment is not None and comment != current_comment(project=project, student=student):
            FeedbackEntry.objects.create(project=project, student=student, comment=comment, author=author)
            comment_written = True
    return GradeChange(scores_written=written, comment_written=comment_written)


def review_permission_check(*, user, project) -> None:
    """Refuse whoever may not review in this project, before what they sent is read: a 403 whatever the text."""
    if not can_grade(user=user, project=project):
        raise PermissionDeniedError(ONLY_GRADERS_REVIEW)


def review_create(*, author, text: str, run=None, version=None) -> Review:
    """Comment on a training run or a model version (teachers and graders of its project)."""
    project = (run or version).project
    review_permission_check(user=author, project=project)
    text = (text or "").strip()
    if not text:
        raise ApplicationError(EMPTY_REVIEW)
    if len(text) > COMMENT_MAX:
        raise ApplicationError(_("The comment is too long (at most %(n)s characters).") % {"n": COMMENT_MAX})
    if version is not None and run is None:
        run = version.run
    return Review.objects.create(project=project, training_run=run, model_version=version, author=author, text=text)


def analysis_request_record(*, project, requester, ran_on: str, image=None, version=None) -> AnalysisRequest:
    """Keep who asked for an analysis and where it ran (the stored analysis itself may be shared)."""
    return AnalysisRequest.objects.create(
        project=project, image=image, model_version=version, requester=requester, ran_on=ran_on
    )


@dataclass(frozen=True)
class QuizVerdict:
    """The server's check of an answer: whether it was right and the text to show."""

    question: str
    correct: bool
    feedback: str


def quiz_answer_record(*, user, question_id: str, option: int, project=None) -> QuizVerdict:
    """Check an answer to a lab question on the server and keep it."""
    question = BY_ID.get(question_id)
    if question is None:
        raise NotFoundError(UNKNOWN_QUESTION)
    if not 1 <= option <= len(question.options):
        raise ApplicationError(UNKNOWN_OPTION)
    correct = question.is_right(option)
    QuizAnswer.objects.create(user=user, project=project, question=question.id, option=option, correct=correct)
    return QuizVerdict(
        question=question.id, correct=correct, feedback=str(question.explanation if correct else question.hint)
    )


def access_log_record(*, project, viewer, what: str, student=None) -> None:
    """Note that someone read a student's data (students reading their own are not logged).

    A read the same viewer made of the same thing less than ``ACCESS_LOG_REPEAT`` ago is already noted.
    """
    if student is not None and student.pk == viewer.pk:
        return
    recent = AccessLog.objects.filter(
        project=project, viewer=viewer, student=student, what=what, created_at__gte=timezone.now() - ACCESS_LOG_REPEAT
    )
    if not recent.exists():
        AccessLog.objects.create(project=project, viewer=viewer, student=student, what=what)


def password_reset_record(*, student, viewer) -> None:
    """Note a reset of a student's password in the access log of every class the account is a student of.

    Accounts are global: the new password is the student's in each of their classes, so each class's
    teacher can read who reset it. Every reset is its own line.
    """
    projects = Membership.objects.filter(user=student, role=Membership.Role.STUDENT).values_list("project_id", flat=True)
    AccessLog.objects.bulk_create(
        [AccessLog(project_id=pk, viewer=viewer, student=student, what=AccessLog.What.PASSWORD) for pk in projects]
    )


def photo_access_record(*, image, viewer) -> None:
    """Note that the project's teacher, a grader or staff opened a student's photo (or its thumbnail).

    Neither the uploader nor a classmate is logged (labeling shows students the class's photos: that is the
    exercise), and nor is a photo that is not a student's, such as one the teacher imported.
    """
    if viewer.pk == image.uploader_id or not can_grade(user=viewer, project=image.project):
        return
    uploader = Membership.objects.filter(
        project_id=image.project_id, user_id=image.uploader_id, role=Membership.Role.STUDENT
    ).exists()
    if uploader:
        access_log_record(project=image.project, viewer=viewer, student=image.uploader, what=AccessLog.What.PHOTO)
