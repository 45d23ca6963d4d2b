from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext_lazy
from django.views.decorators.http import require_POST

from apps.accounts.throttles import JoinCodeAddressThrottle, JoinCodeUserThrottle, throttle_wait
from apps.common.exceptions import ApplicationError
from apps.projects.access import can_manage, project_role
from apps.projects.credentials import credentials_sheet
from apps.projects.forms import JoinCodeForm, JoinForm, MemberAddForm, ProjectCreateForm, StudentsCsvForm
from apps.projects.selectors import (
    invitation_list_pending,
    password_resettable_usernames,
    project_get,
    project_list_with_roles,
)
from apps.projects.services import (
    INVITATION_RECORDED,
    member_password_reset,
    project_create,
    project_invitation_accept,
    project_invitation_create,
    project_invitation_decline,
    project_join,
    project_join_code_update,
    students_bulk_create,
)
from apps.uploads.models import Image

PASSWORD_RESET_DONE = gettext_lazy(
    "%(username)s has a new password, shown below this once. The old one no longer works, and their open sessions end."
)
# "minutes" picks the plural form; "count" is the same number written in the reader's format.
JOIN_THROTTLED = ngettext_lazy(
    "Too many attempts with join codes. Try again in %(count)s minute.",
    "Too many attempts with join codes. Try again in %(count)s minutes.",
    "minutes",
)


def _project_or_404(user, slug):
    try:
        return project_get(user=user, slug=slug)
    except ApplicationError as exc:
        raise Http404(str(exc.message)) from exc


@login_required
def home(request):
    projects = project_list_with_roles(user=request.user).annotate(n_images=Count("images"))
    rows = [(project, project_role(user=request.user, project=project)) for project in projects]
    invitations = invitation_list_pending(user=request.user)
    return render(request, "projects/home.html", {"rows": rows, "invitations": invitations})


@login_required
@require_POST
def invitation_answer(request, invitation_id, answer):
    """Accept (join the project with the invited role) or decline an invitation addressed to you."""
    if answer == "accept":
        membership = project_invitation_accept(user=request.user, invitation_id=invitation_id)
        messages.success(request, _("You joined %(name)s.") % {"name": membership.project.name})
        return redirect("project_detail", slug=membership.project.slug)
    project_invitation_decline(user=request.user, invitation_id=invitation_id)
    messages.info(request, _("Invitation declined."))
    return redirect("home")


@login_required
def project_create_view(request):
    form = ProjectCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            project = project_create(owner=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Project created. Share the join code %(code)s with your students.") % {"code": project.join_code})
            return redirect("project_detail", slug=project.slug)
    status = 400 if request.method == "POST" else 200
    return render(request, "projects/project_form.html", {"form": form}, status=status)


@login_required
def project_join_view(request):
    """Join a project with its code; attempts are throttled per user and per address, so codes cannot be guessed."""
    form = JoinForm(request.POST or None)
    if request.method == "POST":
        wait = throttle_wait(request, [JoinCodeUserThrottle(), JoinCodeAddressThrottle()])
        if wait:
            minutes = -(-wait // 60)
            form.is_valid()
            form.add_error(None, JOIN_THROTTLED % {"minutes": minutes, "count": number_format(minutes, force_grouping=True)})
            response = render(request, "projects/join.html", {"form": form}, status=429)
            response["Retry-After"] = str(wait)
            return response
    if request.method == "POST" and form.is_valid():
        try:
            project = project_join(user=request.user, join_code=form.cleaned_data["join_code"])
        except ApplicationError as exc:
            form.add_error("join_code", exc.message)
        else:
            messages.success(request, _("You joined %(name)s.") % {"name": project.name})
            return redirect("project_detail", slug=project.slug)
    status = 400 if request.method == "POST" else 200
    return render(request, "projects/join.html", {"form": form}, status=status)


@login_required
@require_POST
def project_join_code_view(request, slug):
    """The project's teacher sets the join code's last valid day, or replaces the code ("rotate")."""
    project = _project_or_404(request.user, slug)
    if not can_manage(user=request.user, project=project):
        raise Http404
    form = JoinCodeForm(request.POST)
    if not form.is_valid():
        raise ApplicationError(next(iter(form.errors.values()))[0])
    rotate = form.cleaned_data["action"] == "rotate"
    project = project_join_code_update(
        project=project, actor=request.user, expires_on=form.cleaned_data["expires_on"], rotate=rotate
    )
    if rotate:
        messages.success(request, _("New join code: %(code)s. The old one no longer works.") % {"code": project.join_code})
    elif project.join_code_expires_on:
        day = date_format(project.join_code_expires_on, "DATE_FORMAT")
        messages.success(request, _("The join code is valid until %(date)s.") % {"date": day})
    else:
        messages.success(request, _("The join code has no last day."))
    return redirect("project_detail", slug=slug)


@login_required
def project_detail(request, slug):
    project = _project_or_404(request.user, slug)
    manage = can_manage(user=request.user, project=project)
    member_form, csv_form, csv_report = MemberAddForm(), StudentsCsvForm(), None
    credentials = []  # (username, password) shown in this response only, with their sheet and CSV
    if request.method == "POST":
        if not manage:
            raise Http404
        try:
            if "csv_file" in request.FILES:
                csv_form = StudentsCsvForm(request.POST, request.FILES)
                if csv_form.is_valid():
                    csv_report = students_bulk_create(project=project, actor=request.user, csv_file=csv_form.cleaned_data["csv_file"])
                    credentials = csv_report["created"]
                    messages.success(request, _("%(n)d student accounts created.") % {"n": len(csv_report["created"])})
            elif "password_reset" in request.POST:
                username = request.POST["password_reset"]
                credentials = [member_password_reset(project=project, actor=request.user, username=username)]
                messages.success(request, PASSWORD_RESET_DONE % {"username": username})
            else:
                member_form = MemberAddForm(request.POST)
                if member_form.is_valid():
                    project_invitation_create(project=project, actor=request.user, **member_form.cleaned_data)
                    messages.success(request, INVITATION_RECORDED % {"username": member_form.cleaned_data["username"]})
                    return redirect("project_detail", slug=slug)
        except ApplicationError as exc:
            messages.error(request, exc.message)
    images = project.images.all()
    split_names = dict(Image.Split.choices)
    per_split = dict(images.values_list("split").annotate(n=Count("id")))
    context = {
        "project": project,
        "role": project_role(user=request.user, project=project),
        "can_manage": manage,
        "split_counts": [{"split": name, "n": per_split.get(value, 0)} for value, name in Image.Split.choices],
        "label_counts": [
            {**row, "split": split_names.get(row["split"], row["split"])}
            for row in images.exclude(label="").values("label", "split").annotate(n=Count("id")).order_by("label", "split")
        ],
        "test_percent": f"{round(100 * project.test_fraction)} %",
        "validation_percent": f"{round(100 * project.validation_fraction)} %",
        "unlabeled": images.filter(label="").count(),
        "total": images.count(),
        "join_code_form": JoinCodeForm(initial={"expires_on": project.join_code_expires_on}) if manage else None,
        "join_code_expired": bool(project.join_code_expires_on and timezone.localdate() > project.join_code_expires_on),
        "memberships": project.memberships.select_related("user").order_by("role", "user__username"),
        "invitations": project.invitations.order_by("username") if manage else [],
        "member_form": member_form,
        "csv_form": csv_form,
        "csv_report": csv_report,
        "credentials": credentials_sheet(request=request, project=project, credentials=credentials) if credentials else None,
        "password_resettable": password_resettable_usernames(project=project) if manage else set(),
    }
    return render(request, "projects/detail.html", context)
