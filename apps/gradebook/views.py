"""Gradebook pages: the class view, a student's history, rubric and retention settings, exports and data rights."""
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.common.csv_writer import csv_export_response
from apps.common.exceptions import ApplicationError, NotFoundError, PermissionDeniedError
from apps.gradebook import selectors, services
from apps.gradebook.data_rights import ONLY_TEACHER_DELETES, student_data_delete, student_data_zip
from apps.gradebook.forms import CoursePolicyForm, CriterionForm, ReviewForm, StudentDeleteForm
from apps.gradebook.models import AccessLog, Criterion
from apps.projects.access import can_manage, project_role
from apps.projects.selectors import PROJECT_NOT_FOUND, project_get
from apps.training.models import TrainingRun
from apps.uploads.models import Image


def _grader_project(user, slug):
    """Return the project if the user may grade in it; students and others get a 404 (never reveal the class)."""
    project = project_get(user=user, slug=slug)
    if not services.can_grade(user=user, project=project):
        raise NotFoundError(PROJECT_NOT_FOUND)
    return project


def _texts():
    return {
        "saved": _("Saved."),
        "error": _("Not saved:"),
        "sort": _("Sort by this column"),
        "range": str(services.SCORE_OUT_OF_RANGE),
    }


@login_required
def gradebook_page(request, slug):
    """The class view for teachers and graders; a student sees their own grade and feedback."""
    project = project_get(user=request.user, slug=slug)
    manage = can_manage(user=request.user, project=project)
    if not services.can_grade(user=request.user, project=project):
        book = selectors.gradebook_get(project=project, usernames=[request.user.username])
        row = book.students[0] if book.students else None
        return render(request, "gradebook/mine.html", {"project": project, "book": book, "row": row})
    criterion_form, policy_form = CriterionForm(), CoursePolicyForm(instance=selectors.course_policy(project=project))
    if request.method == "POST":
        if not manage:
            raise PermissionDeniedError(services.ONLY_TEACHER_EDITS_RUBRIC)
        action = request.POST.get("action")
        if action == "criterion-add":
            criterion_form = CriterionForm(request.POST)
            if criterion_form.is_valid():
                services.criterion_create(project=project, user=request.user, **criterion_form.cleaned_data)
                return redirect("gradebook", slug=slug)
        elif action in ("criterion-update", "criterion-delete"):
            criterion = get_object_or_404(Criterion, project=project, pk=request.POST.get("criterion"))
            if action == "criterion-delete":
                services.criterion_delete(criterion=criterion, user=request.user)
                return redirect("gradebook", slug=slug)
            form = CriterionForm(request.POST)
            if not form.is_valid():
                raise ApplicationError(services.BAD_CRITERION)
            services.criterion_update(criterion=criterion, user=request.user, **form.cleaned_data)
            return redirect("gradebook", slug=slug)
        elif action == "policy":
            policy_form = CoursePolicyForm(request.POST, instance=selectors.course_policy(project=project))
            if policy_form.is_valid():
                policy_form.save()
                messages.success(request, _("Course dates saved."))
                return redirect("gradebook", slug=slug)
        else:
            raise ApplicationError(_("Unknown action."))
    book = selectors.gradebook_get(project=project)
    if request.method == "GET":
        services.access_log_record(project=project, viewer=request.user, what=AccessLog.What.GRADEBOOK)
    context = {
        "project": project,
        "book": book,
        "can_manage": manage,
        "criterion_form": criterion_form,
        "policy_form": policy_form,
        "policy": selectors.course_policy(project=project),
        "texts": _texts(),
    }
    return render(request, "gradebook/class.html", context, status=400 if request.method == "POST" else 200)


@login_required
def gradebook_student(request, slug, username):
    """A student's history and contributions: their photos and labels with thumbnails, disagreements, grade history."""
    project = project_get(user=request.user, slug=slug)
    grader = services.can_grade(user=request.user, project=project)
    if not grader and username != request.user.username:
        raise NotFoundError(PROJECT_NOT_FOUND)
    student = services.project_student(project=project, username=username)
    if grader:
        services.access_log_record(project=project, viewer=request.user, student=student, what=AccessLog.What.HISTORY)
    book = selectors.gradebook_get(project=project, usernames=[username])
    context = {
        "project": project,
        "student": student,
        "book": book,
        "row": book.students[0],
        "uploads": Image.objects.filter(project=project, uploader=student).order_by("-created_at")[:120],
        "labels": selectors.student_labels(project=project, student=student)[:120],
        "disagreements": selectors.student_disagreements(project=project, student=student),
        "history": selectors.grade_history(project=project, student=student) if grader else [],
        "can_manage": can_manage(user=request.user, project=project),
        "delete_form": StudentDeleteForm(),
        "is_self": student.pk == request.user.pk,
    }
    return render(request, "gradebook/student.html", context)


CSV_HEADER_KEYS = ("username", "uploads", "labels", "agreement", "gold_accuracy", "analyses_server", "analyses_browser",
                   "experiments", "quiz_answered", "quiz_correct", "last_activity")


def _csv_header(book):
    names = [
        _("Student"), _("Uploads"), _("Labels"), _("Agreement"), _("Gold accuracy"), _("Analyses (server)"),
        _("Analyses (browser)"), _("Lab experiments"), _("Questions answered"), _("Right at the first try"),
        _("Last activity"),
    ]
    return names + [f"{c.name} (/{c.points:g})" for c in book.rubric] + [_("Total"), _("Comment")]


@login_required
def gradebook_csv(request, slug):
    """The gradebook as a spreadsheet (the shared CSV writer: no formulas, local separators)."""
    project = _grader_project(request.user, slug)
    book = selectors.gradebook_get(project=project)
    services.access_log_record(project=project, viewer=request.user, what=AccessLog.What.EXPORT)
    rows = (
        [getattr(row, key) for key in CSV_HEADER_KEYS]
        + [row.scores.get(str(c.pk)) for c in book.rubric]
        + [row.total, row.comment]
        for row in book.students
    )
    return csv_export_response(filename=f"riim-gradebook-{project.slug}.csv", header=_csv_header(book), rows=rows)


@login_required
def gradebook_report(request, slug):
    """The printable class report: one page per student with activity, contribution, grade and feedback."""
    project = _grader_project(request.user, slug)
    book = selectors.gradebook_get(project=project)
    services.access_log_record(project=project, viewer=request.user, what=AccessLog.What.REPORT)
    context = {"project": project, "book": book, "printed_at": timezone.now()}
    return render(request, "gradebook/report.html", context)


@login_required
def gradebook_access_log(request, slug):
    """Who read which student's photos and history, and the class's gradebook (the project's teacher)."""
    project = project_get(user=request.user, slug=slug)
    if not can_manage(user=request.user, project=project):
        raise NotFoundError(PROJECT_NOT_FOUND)
    entries = selectors.access_log(project=project)[:500]
    context = {"project": project, "entries": entries, "repeat_minutes": services.ACCESS_LOG_REPEAT // timedelta(minutes=1)}
    return render(request, "gradebook/access_log.html", context)


@login_required
def student_data_download(request, slug):
    """A student downloads all their data in the project as a zip (photos, labels, analyses, grade)."""
    project = project_get(user=request.user, slug=slug)
    if project_role(user=request.user, project=project) != "student":
        raise NotFoundError(PROJECT_NOT_FOUND)
    content = student_data_zip(project=project, student=request.user)
    response = HttpResponse(content, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="riim-{project.slug}-{request.user.pk}.zip"'
    return response


@login_required
@require_POST
def student_data_delete_view(request, slug, username):
    """The teacher deletes one student's data in the project, after typing the username to confirm."""
    project = project_get(user=request.user, slug=slug)
    if not can_manage(user=request.user, project=project):  # graders read and score; they never delete
        raise PermissionDeniedError(ONLY_TEACHER_DELETES)
    student = services.project_student(project=project, username=username)
    form = StudentDeleteForm(request.POST)
    if not form.is_valid() or form.cleaned_data["confirm"] != username:
        raise ApplicationError(_("Type the student's username exactly to confirm the deletion."))
    report = student_data_delete(project=project, student=student, actor=request.user)
    messages.success(
        request,
        _("The data of %(username)s was deleted: %(images)d photos, %(labels)d labels.")
        % {"username": username, "images": report.images, "labels": report.labels},
    )
    return redirect("gradebook", slug=slug)


@login_required
@require_POST
def run_review_create(request, run_id):
    """A teacher's or grader's comment on a training run (and the version it produced), shown on the run page."""
    run = get_object_or_404(TrainingRun.objects.select_related("project"), pk=run_id)
    project_get(user=request.user, slug=run.project.slug)  # a 404 for those outside the project
    services.review_permission_check(user=request.user, project=run.project)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        raise ApplicationError(services.EMPTY_REVIEW)
    version = getattr(run, "model_version", None)
    services.review_create(author=request.user, text=form.cleaned_data["text"], run=run, version=version)
    return redirect(reverse("training_run_detail", args=[run.pk]) + "#reviews")
