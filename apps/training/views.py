from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError

from apps.common.exceptions import ApplicationError
from apps.projects.access import can_manage
from apps.projects.selectors import project_get
from apps.training.forms import TrainingConfigForm
from apps.training.selectors import model_version_list, training_run_get, training_run_list
from apps.training.services import training_run_start


def _project(request, slug):
    try:
        return project_get(user=request.user, slug=slug)
    except ApplicationError as exc:
        raise Http404(str(exc.message)) from exc


@login_required
def training_page(request, slug):
    """The teacher's retraining page: the options form and the project's runs."""
    project = _project(request, slug)
    manage = can_manage(user=request.user, project=project)
    form = TrainingConfigForm(request.POST or None)
    if request.method == "POST":
        if not manage:
            raise Http404
        if form.is_valid():
            try:
                run = training_run_start(project=project, user=request.user, config=form.config())
            except ValidationError as exc:
                for field, errors in (exc.detail.items() if isinstance(exc.detail, dict) else [(None, exc.detail)]):
                    form.add_error(field if field in form.fields else None, [str(e) for e in errors])
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("Training run %(id)d queued.") % {"id": run.pk})
                return redirect("training_run_detail", run_id=run.pk)
    runs = training_run_list(user=request.user, project=project)[:20]
    status = 400 if request.method == "POST" else 200
    return render(request, "training/training.html", {"project": project, "form": form, "runs": runs, "can_manage": manage}, status=status)


@login_required
def training_run_detail(request, run_id):
    """Live progress of one run; the page polls the run's API and grows the curves."""
    try:
        run = training_run_get(user=request.user, run_id=run_id)
    except ApplicationError as exc:
        raise Http404(str(exc.message)) from exc
    texts = {"loss": _("loss"), "val_loss": _("validation loss"), "accuracy": _("accuracy"), "val_accuracy": _("validation accuracy"), "epoch": _("epoch")}
    return render(request, "training/run.html", {"run": run, "project": run.project, "can_manage": can_manage(user=request.user, project=run.project), "texts": texts})


@login_required
def versions_page(request, slug):
    """Every model version of the project, side by side."""
    project = _project(request, slug)
    versions = model_version_list(user=request.user, project=project).order_by("-number")
    return render(request, "training/versions.html", {"project": project, "versions": versions, "can_manage": can_manage(user=request.user, project=project)})
