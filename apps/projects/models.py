import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.common.models import TimeStampedModel

JOIN_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: codes are read aloud in class


def join_code_generate():
    return "".join(secrets.choice(JOIN_CODE_ALPHABET) for _ in range(8))


def default_backbone() -> str:
    """Return the classroom default network of ``ml.config`` (the one new projects start with)."""
    from ml.config import defaults

    return defaults("classroom")["backbone"]


def default_backbone_image_size() -> int:
    from ml.config import defaults

    return int(defaults("classroom")["image_size"])


def default_labeling_strategy() -> str:
    """Return the labeling order new projects start with: the measured one of ``ml.active_learning``."""
    from ml.active_learning import DEFAULT_STRATEGY

    return DEFAULT_STRATEGY


class Project(TimeStampedModel):
    """A classification project owned by a teacher: its classes, tags and members."""

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    description = models.TextField(_("description"), blank=True)
    classes = models.JSONField(_("classes"), default=list, help_text=_("For example: cat, dog"))
    tag_vocabulary = models.JSONField(_("tag vocabulary"), default=list, blank=True)
    join_code = models.CharField(_("join code"), max_length=12, unique=True, default=join_code_generate)
    # The last day the code lets students join (in the site's time zone); empty: until the teacher changes it.
    join_code_expires_on = models.DateField(_("join code valid until"), null=True, blank=True)
    # Shares of the photos kept out of training (apps.uploads.splits): the sealed test share only
    # reports; the validation share decides which version is served. Fixed when the project is made.
    test_fraction = models.FloatField(
        _("test fraction"), default=0.15, validators=[MinValueValidator(0.05), MaxValueValidator(0.3)]
    )
    validation_fraction = models.FloatField(
        _("validation fraction"), default=0.15, validators=[MinValueValidator(0.05), MaxValueValidator(0.3)]
    )
    # How many people should label each photo before the queue stops asking for it first.
    labels_per_image = models.PositiveSmallIntegerField(
        _("labels per image"), default=1, validators=[MinValueValidator(1), MaxValueValidator(3)]
    )
    # The order the labeling page asks for photos in (ml.active_learning.STRATEGIES).
    labeling_strategy = models.CharField(_("labeling order"), max_length=20, default=default_labeling_strategy)
    # A quick model retrains by itself a little after the labels change (apps.training.automation).
    auto_quick_retrain = models.BooleanField(
        _("retrain a quick model automatically when labels change"), default=True
    )
    # Set when the teacher activates (or rolls back to) a version by hand: automatic runs then publish
    # without activating until the teacher releases the pin.
    model_pinned = models.BooleanField(_("active model chosen by hand"), default=False)
    # The frozen network every embedding, quick model and analysis of the project is computed with
    # (a name of ml.backbones and its input size). Projects made before the registry keep MobileNet.
    backbone = models.CharField(_("network"), max_length=40, default=default_backbone)
    backbone_image_size = models.PositiveSmallIntegerField(_("network input size"), default=default_backbone_image_size)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_projects", verbose_name=_("teacher")
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="projects", verbose_name=_("members")
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("project")
        verbose_name_plural = _("projects")

    def __str__(self):
        return self.name


class Membership(TimeStampedModel):
    """A user's role inside one project."""

    class Role(models.TextChoices):
        STUDENT = "student", _("Student")
        TEACHER = "teacher", _("Teacher")
        GRADER = "grader", _("Grader")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("project"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("user")
    )
    role = models.CharField(_("role"), max_length=10, choices=Role.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="unique_project_member")]
        verbose_name = _("member")
        verbose_name_plural = _("members")

    def __str__(self):
        return f"{self.user} @ {self.project} ({self.role})"


class Invitation(TimeStampedModel):
    """A teacher's offer of a project role to a username; it takes effect only when that account accepts it.

    The username is stored as typed, so inviting says nothing about whether such an account exists.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="invitations", verbose_name=_("project"))
    username = models.CharField(_("username"), max_length=150)
    role = models.CharField(_("role"), max_length=10, choices=[c for c in Membership.Role.choices if c[0] != "teacher"])
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("invited by")
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["project", "username"], name="unique_invitation_per_project")]
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")

    def __str__(self):
        return f"{self.username} → {self.project} ({self.role})"
