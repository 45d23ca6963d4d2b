"""The gradebook: rubric, scores and feedback (append-only), reviews, activity records, access log, retention."""
from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class Criterion(models.Model):
    """One rubric criterion of a project: a name and the most points it gives."""

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="criteria", verbose_name=_("project")
    )
    name = models.CharField(_("name"), max_length=120)
    points = models.FloatField(_("points"), validators=[MinValueValidator(0.5)])
    position = models.PositiveIntegerField(_("position"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("rubric criterion")
        verbose_name_plural = _("rubric criteria")

    def __str__(self):
        return f"{self.name} ({self.points:g})"


class StudentEntry(models.Model):
    """Abstract base of the gradebook's append-only rows about one student: whose, by whom, and when.

    A row is never updated; the newest one counts, so rows are read newest first.
    """

    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("student")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("author")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]


class ScoreEntry(StudentEntry):
    """One scoring act; the newest entry per student and criterion counts (None: cleared). Never updated."""

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="score_entries", verbose_name=_("project")
    )
    criterion = models.ForeignKey(
        Criterion, on_delete=models.CASCADE, related_name="entries", verbose_name=_("criterion")
    )
    points = models.FloatField(_("points"), null=True, blank=True)

    class Meta(StudentEntry.Meta):
        verbose_name = _("score")
        verbose_name_plural = _("scores")

    def __str__(self):
        return f"{self.student} · {self.criterion.name}: {self.points}"


class FeedbackEntry(StudentEntry):
    """One version of the comment a student reads with their grade; the newest counts. Never updated."""

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="feedback_entries", verbose_name=_("project")
    )
    comment = models.TextField(_("comment"), blank=True)

    class Meta(StudentEntry.Meta):
        verbose_name = _("feedback")
        verbose_name_plural = _("feedback")

    def __str__(self):
        return f"{self.student}: {self.comment[:40]}"


class Review(models.Model):
    """A teacher's or grader's comment on a training run or a model version."""

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="reviews", verbose_name=_("project")
    )
    training_run = models.ForeignKey(
        "training.TrainingRun", null=True, blank=True, on_delete=models.CASCADE, related_name="reviews",
        verbose_name=_("training run"),
    )
    model_version = models.ForeignKey(
        "training.ModelVersion", null=True, blank=True, on_delete=models.CASCADE, related_name="reviews",
        verbose_name=_("model version"),
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("author")
    )
    text = models.TextField(_("comment"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("review")
        verbose_name_plural = _("reviews")

    def __str__(self):
        return f"{self.author}: {self.text[:40]}"


class AnalysisRequest(models.Model):
    """Who asked for an analysis, where it ran and of what: one row per request, even when the result was stored already.

    The image is None for ``POST /api/v1/analyze/``, which keeps no photo; the row outlives a deleted
    photo (the count belongs to the gradebook) but not a deleted student.
    """

    class RanOn(models.TextChoices):
        SERVER = "server", _("Server")
        BROWSER = "browser", _("Browser")

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="analysis_requests", verbose_name=_("project")
    )
    image = models.ForeignKey(
        "uploads.Image", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("image")
    )
    model_version = models.ForeignKey(
        "training.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("model version"),
    )
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("requester")
    )
    ran_on = models.CharField(_("ran on"), max_length=10, choices=RanOn.choices)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["project", "requester"])]
        verbose_name = _("analysis request")
        verbose_name_plural = _("analysis requests")

    def __str__(self):
        return f"{self.requester} · {self.ran_on} · {self.image_id}"


class QuizAnswer(models.Model):
    """One answer to a lab question (ids from apps.lab.quizzes), checked on the server."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    project = models.ForeignKey(
        "projects.Project", null=True, blank=True, on_delete=models.CASCADE, related_name="quiz_answers",
        verbose_name=_("project"),
    )
    question = models.CharField(_("question"), max_length=60, db_index=True)
    option = models.PositiveSmallIntegerField(_("option"))
    correct = models.BooleanField(_("correct"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("quiz answer")
        verbose_name_plural = _("quiz answers")

    def __str__(self):
        return f"{self.user} · {self.question}: {self.option} ({'✓' if self.correct else '✗'})"


class AccessLog(models.Model):
    """A teacher, grader or staff member read students' data (a photo, a history, the class's gradebook)
    or reset a student's password.

    ``student`` is None for reads of the whole class (its gradebook page, API rows, report and export).
    """

    class What(models.TextChoices):
        HISTORY = "history", _("History and contributions")
        REPORT = "report", _("Class report")
        EXPORT = "export", _("Gradebook export")
        GRADEBOOK = "gradebook", _("Class gradebook")
        API = "api", _("Gradebook through the API")
        PHOTO = "photo", _("Photo")
        PASSWORD = "password", _("Password reset")

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="access_logs", verbose_name=_("project")
    )
    viewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("viewed by")
    )
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
        verbose_name=_("student"),
    )
    what = models.CharField(_("what"), max_length=10, choices=What.choices)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("access log entry")
        verbose_name_plural = _("access log")

    def __str__(self):
        return f"{self.viewer} → {self.student} ({self.what})"


class CoursePolicy(models.Model):
    """When a project's course ends and how long its photos are kept after that."""

    project = models.OneToOneField(
        "projects.Project", on_delete=models.CASCADE, related_name="course_policy", verbose_name=_("project")
    )
    course_end = models.DateField(_("course end date"), null=True, blank=True)
    retention_days = models.PositiveIntegerField(_("retention period (days)"), default=30)
    warn_days = models.PositiveIntegerField(_("warn this many days before"), default=14)
    purged_at = models.DateTimeField(_("photos deleted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("course and retention")
        verbose_name_plural = _("courses and retention")

    def __str__(self):
        return f"{self.project} · {self.course_end} + {self.retention_days} d"


class ContributionSnapshot(models.Model):
    """A student's contribution figures kept when the project's photos are deleted at the end of retention."""

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="contribution_snapshots", verbose_name=_("project")
    )
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("student")
    )
    figures = models.JSONField(_("figures"), default=dict)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "student"], name="one_snapshot_per_student")]
        verbose_name = _("contribution snapshot")
        verbose_name_plural = _("contribution snapshots")

    def __str__(self):
        return f"{self.student} @ {self.project}"


class VersionDataRemoval(models.Model):
    """A model version was trained with photos deleted since (its folder is immutable, so it is marked instead)."""

    model_version = models.ForeignKey(
        "training.ModelVersion", on_delete=models.CASCADE, related_name="data_removals", verbose_name=_("model version")
    )
    images_removed = models.PositiveIntegerField(_("photos removed"))
    reason = models.CharField(_("reason"), max_length=20)  # "student" or "retention"; never who
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("trained with deleted photos")
        verbose_name_plural = _("trained with deleted photos")

    def __str__(self):
        return f"v{self.model_version.number}: {self.images_removed} ({self.reason})"
