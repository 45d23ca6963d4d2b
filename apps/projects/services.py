"""Writes on projects and their members."""
import csv
import io
import re
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from apps.accounts import roles
from apps.accounts.lockout import login_failures_clear
from apps.accounts.passwords import readable_password
from apps.common.exceptions import ApplicationError, ConflictError, NotFoundError, PermissionDeniedError
from apps.projects.access import can_manage
from apps.projects.models import Invitation, Membership, Project, join_code_generate
from apps.projects.selectors import invitation_list_pending, password_resettable_usernames

ONLY_TEACHERS_CREATE = _("Only teachers can create projects.")
ONLY_PROJECT_TEACHER = _("Only the project's teacher can do this.")
TOO_FEW_CLASSES = _("A project needs at least two different classes.")
BAD_CLASS_NAME = _("Class names must be short words of letters, digits, '-' or '_'.")
SLUG_TAKEN = _("That identifier is already used by another project.")
BACKBONE_UNKNOWN = _("Unknown network “%(name)s”. Valid networks: %(valid)s.")
BACKBONE_SIZE_INVALID = _("%(name)s takes these input sizes: %(valid)s.")
BACKBONE_RUN_ACTIVE = _("A training run of this project is queued or running; change the network when it ends.")
JOIN_CODE_INVALID = _("That join code does not match any project.")
JOIN_CODE_EXPIRED = _("That join code expired on %(date)s. Ask your teacher for the new one.")
JOIN_CODE_PAST_DAY = _("The last valid day cannot be before today.")
JOIN_CODE_NOT_DRAWN = _("No new join code could be drawn. Try again.")
# One message whether or not the account exists: the form must not tell which usernames are taken.
INVITATION_RECORDED = _(
    "Invitation recorded. If an account named “%(username)s” exists, it will see the invitation on its "
    "home page and join when it accepts."
)
INVITATION_NOT_FOUND = _("That invitation does not exist or is not yours.")
BAD_INVITATION_ROLE = _("Invite graders or students; a project has one teacher.")
CSV_ACCOUNT_EXISTS = _("an account with this name already exists: it was invited to the project instead")
CSV_BAD_HEADER = _("The CSV needs a 'username' column (optional: first_name, last_name, email, password).")
# Letters (accents included), digits, "-" and "_": names become folder names in exports. They start
# with a letter or digit, so a manifest cell never starts like a spreadsheet formula ("-...").
CLASS_NAME_RE = re.compile(r"\w[\w-]{0,39}")
CSV_TOO_LARGE = _("The CSV file is too large (at most 1,000 students at once).")


def _clean_names(values, *, message, minimum=0):
    names = []
    for value in values or []:
        name = str(value).strip().lower()
        if not name:
            continue
        if not CLASS_NAME_RE.fullmatch(name):
            raise ApplicationError(message)
        if name not in names:
            names.append(name)
    if len(names) < minimum:
        raise ApplicationError(TOO_FEW_CLASSES)
    return names


@transaction.atomic
def project_create(*, owner, name, slug="", classes, description="", tag_vocabulary=None, test_fraction=None,
                   validation_fraction=None, backbone: tuple[str, int] | None = None):
    """Create a project owned by a teacher, who becomes its first member (on the default network unless given).

    The two fractions fix how photos are split (``apps.uploads.splits``) and never change afterwards.
    """
    if not owner.is_teacher:
        raise PermissionDeniedError(ONLY_TEACHERS_CREATE)
    slug = slugify(slug or name)[:60]
    if not slug:
        raise ApplicationError(_("The project needs a name."))
    project = Project(
        owner=owner,
        name=name.strip(),
        slug=slug,
        description=description,
        classes=_clean_names(classes, message=BAD_CLASS_NAME, minimum=2),
        tag_vocabulary=_clean_names(tag_vocabulary, message=BAD_CLASS_NAME),
    )
    if test_fraction is not None:
        project.test_fraction = test_fraction
    if validation_fraction is not None:
        project.validation_fraction = validation_fraction
    if backbone is not None:
        project.backbone, project.backbone_image_size = backbone
    project.full_clean(exclude=["join_code", "slug"])
    try:
        with transaction.atomic():
            project.save()
    except IntegrityError as exc:
        raise ConflictError(SLUG_TAKEN) from exc
    Membership.objects.create(project=project, user=owner, role=Membership.Role.TEACHER)
    return project


def project_join(*, user, join_code):
    """Add a user as a student of the project whose join code they typed, while the code is valid."""
    project = Project.objects.filter(join_code=join_code.strip().upper()).first()
    if project is None:
        raise NotFoundError(JOIN_CODE_INVALID)
    if project.join_code_expires_on is not None and timezone.localdate() > project.join_code_expires_on:
        raise ApplicationError(JOIN_CODE_EXPIRED % {"date": date_format(project.join_code_expires_on, "DATE_FORMAT")})
    role = Membership.Role.TEACHER if project.owner_id == user.pk else Membership.Role.STUDENT
    Membership.objects.get_or_create(project=project, user=user, defaults={"role": role})
    return project


def project_join_code_update(*, project, actor, expires_on, rotate: bool = False) -> Project:
    """Set the last day the project's join code is valid (None: no last day) and, with ``rotate``, replace the code.

    A replaced code stops working at once; members who joined with it stay.
    """
    if not can_manage(user=actor, project=project):
        raise PermissionDeniedError(ONLY_PROJECT_TEACHER)
    if expires_on is not None and expires_on < timezone.localdate():
        raise ApplicationError(JOIN_CODE_PAST_DAY)
    project.join_code_expires_on = expires_on
    if not rotate:
        project.save(update_fields=["join_code_expires_on", "updated_at"])
        return project
    for _attempt in range(5):  # a new code that happens to be another project's is drawn again
        project.join_code = join_code_generate()
        try:
            with transaction.atomic():
                project.save(update_fields=["join_code", "join_code_expires_on", "updated_at"])
        except IntegrityError:
            continue
        return project
    raise ConflictError(JOIN_CODE_NOT_DRAWN)


def project_invitation_create(*, project, actor, username, role) -> Invitation:
    """Invite a username to the project (graders this way, or a student who has an account already).

    Nothing changes for the account until it accepts; its global role never changes here (only in the admin).
    """
    if not can_manage(user=actor, project=project):
        raise PermissionDeniedError(ONLY_PROJECT_TEACHER)
    if role not in (Membership.Role.GRADER, Membership.Role.STUDENT):
        raise ApplicationError(BAD_INVITATION_ROLE)
    invitation, _created = Invitation.objects.update_or_create(
        project=project, username=username.strip(), defaults={"role": role, "invited_by": actor}
    )
    return invitation


def _own_invitation(*, user, invitation_id) -> Invitation:
    invitation = invitation_list_pending(user=user).filter(pk=invitation_id).first()
    if invitation is None:
        raise NotFoundError(INVITATION_NOT_FOUND)
    return invitation


@transaction.atomic
def project_invitation_accept(*, user, invitation_id) -> Membership:
    """Join the project of an invitation addressed to the user, with the invited role."""
    invitation = _own_invitation(user=user, invitation_id=invitation_id)
    membership, _created = Membership.objects.get_or_create(
        project=invitation.project, user=user, defaults={"role": invitation.role}
    )
    invitation.delete()
    return membership


def project_invitation_decline(*, user, invitation_id) -> None:
    _own_invitation(user=user, invitation_id=invitation_id).delete()


@transaction.atomic
def students_bulk_create(*, project, actor, csv_file):
    """Create student accounts from a CSV and add them to the project.

    Return {"created": [(username, password)], "invited": [username], "errors": [(line, message)]}.
    Passwords are generated when the CSV has none and shown to the teacher once. A name that already
    has an account is never added directly: it gets an invitation, which its owner may accept.
    """
    if not can_manage(user=actor, project=project):
        raise PermissionDeniedError(ONLY_PROJECT_TEACHER)
    raw = csv_file.read()
    if len(raw) > 200_000:
        raise ApplicationError(CSV_TOO_LARGE)
    text = raw.decode("utf-8-sig", errors="replace") if isinstance(raw, bytes) else raw
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "username" not in [f.strip() for f in reader.fieldnames]:
        raise ApplicationError(CSV_BAD_HEADER)
    User = get_user_model()
    report = {"created": [], "invited": [], "errors": []}
    for line, row in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        username = row.get("username", "")
        if not username or len(username) > 150:
            report["errors"].append((line, str(_("missing or too long username"))))
            continue
        if User.objects.filter(username=username).exists():
            project_invitation_create(project=project, actor=actor, username=username, role=Membership.Role.STUDENT)
            report["invited"].append(username)
            report["errors"].append((line, str(CSV_ACCOUNT_EXISTS)))
            continue
        password = row.get("password") or readable_password()
        user = User.objects.create_user(
            username=username,
            password=password,
            first_name=row.get("first_name", ""),
            last_name=row.get("last_name", ""),
            email=row.get("email", ""),
        )
        roles.role_assign(user, roles.STUDENT)
        report["created"].append((username, password))
        Membership.objects.get_or_create(project=project, user=user, defaults={"role": Membership.Role.STUDENT})
    return report


def backbone_choice_clean(*, name, image_size) -> tuple[str, int]:
    """Return a registry network and one of its input sizes, or ApplicationError naming the valid ones."""
    from ml.backbones import PRETRAINED, REGISTRY

    entry = REGISTRY.get(name)
    if entry is None or not entry.pretrained:
        raise ApplicationError(BACKBONE_UNKNOWN % {"name": name, "valid": ", ".join(PRETRAINED)})
    try:
        size = int(image_size if image_size not in (None, "") else entry.native_size)
    except (TypeError, ValueError):
        size = -1
    if size not in entry.sizes:
        raise ApplicationError(BACKBONE_SIZE_INVALID % {"name": entry.display_name,
                                                        "valid": ", ".join(str(s) for s in entry.sizes)})
    return entry.name, size


def project_backbone_update(*, project, actor, name, image_size=None) -> Project:
    """Switch the project's network; its photos are embedded again in the background (``default`` queue).

    Refused while a training run is queued or running, so no run mixes two networks.
    """
    from apps.training.models import TrainingRun

    if not can_manage(user=actor, project=project):
        raise PermissionDeniedError(ONLY_PROJECT_TEACHER)
    name, size = backbone_choice_clean(name=name, image_size=image_size)
    with transaction.atomic():
        locked = Project.objects.select_for_update().get(pk=project.pk)
        active = (TrainingRun.Status.QUEUED, TrainingRun.Status.RUNNING)
        if TrainingRun.objects.filter(project=locked, status__in=active).exists():
            raise ConflictError(BACKBONE_RUN_ACTIVE)
        changed = (locked.backbone, locked.backbone_image_size) != (name, size)
        locked.backbone, locked.backbone_image_size = name, size
        locked.save(update_fields=["backbone", "backbone_image_size", "updated_at"])
        if changed:
            transaction.on_commit(lambda: _embeddings_refresh(locked.pk), robust=True)
    return locked


def _embeddings_refresh(project_id: int) -> None:
    from apps.embeddings.tasks import project_embeddings_refresh_task

    project_embeddings_refresh_task.delay(project_id)


MEMBER_NOT_FOUND = _("There is no member “%(username)s” in this class.")
PASSWORD_RESET_ONLY_STUDENTS = _(
    "Only students' passwords can be reset here: “%(username)s” is a teacher, a grader or staff (here or in "
    "another class)."
)


@dataclass(frozen=True)
class Credentials:
    """A username with the password just given to it: shown to the teacher once, never stored in clear."""

    username: str
    password: str


@transaction.atomic
def member_password_reset(*, project, actor, username) -> Credentials:
    """Give a student of the project a new password, which replaces the old one at once, and return it.

    Only the project's teacher (or staff) may, and only for an account that is a student everywhere
    (``password_resettable_usernames``): accounts are global. Saving the new password revokes every API
    token of the account (``User.save`` → ``apps.accounts.services.user_tokens_revoke``, where any other
    key tied to the account is revoked too) and Django ends its sessions; the reset also lifts the
    username's login lockout and is written to the access log of each of the student's classes.
    """
    from apps.gradebook.services import password_reset_record

    if not can_manage(user=actor, project=project):
        raise PermissionDeniedError(ONLY_PROJECT_TEACHER)
    membership = project.memberships.select_related("user").filter(user__username=username).first()
    if membership is None:
        raise NotFoundError(MEMBER_NOT_FOUND % {"username": username})
    if username not in password_resettable_usernames(project=project, usernames=[username]):
        raise PermissionDeniedError(PASSWORD_RESET_ONLY_STUDENTS % {"username": username})
    student = membership.user
    password = readable_password()
    student.set_password(password)
    student.save(update_fields=["password"])
    login_failures_clear(username=username)
    password_reset_record(student=student, viewer=actor)
    return Credentials(username=username, password=password)
