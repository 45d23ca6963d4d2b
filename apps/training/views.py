from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from apps.common.exceptions import ApplicationError
from apps.embeddings.backbones import backbone_label
from apps.projects.access import can_manage
from apps.projects.selectors import project_get
from apps.training.configs import project_config_defaults
from apps.training.events import STAGE_LABELS, fallback_reason, fallback_text
from apps.training.forms import TrainingConfigForm
from apps.training.models import TrainingRun
from apps.training.selectors import (
    automatic_run_new_labels,
    model_version_get,
    model_version_list,
    stage_typical_seconds,
    training_mode_advice,
    training_run_get,
    training_run_list,
    training_run_log_lines,
    training_run_outcome,
    version_activation_text,
    version_int8_text,
)
from apps.training.services import project_automation_update, training_run_start
from apps.training.tfjs import version_has_tfjs, version_tfjs_zip
from apps.training.variants import variant_label


def network_summary(version) -> dict:
    """Describe the network a version was trained with, and whether it had to start from scratch."""
    backbone = (version.metadata or {}).get("backbone") or {}
    used = backbone.get("used")
    if used is None:
        return {"name": None, "pretrained": None, "fallback": None}
    name = backbone_label(used, backbone.get("alpha"))  # MobileNet 0,25 in Spanish
    fallback = None
    if backbone.get("fallback"):  # the reader's language from the build event; older cards have the English reason
        fallback = fallback_text(backbone.get("event")) or backbone.get("fallback_reason")
    return {"name": name, "pretrained": bool(backbone.get("pretrained")), "fallback": fallback}


def _project(request, slug):
    try:
        return project_get(user=request.user, slug=slug)
    except ApplicationError as exc:
        raise Http404(str(exc.message)) from exc


def _messages(errors) -> list:
    """Flatten a refusal's per-key messages (lists, or dicts of lists for list items) into strings."""
    if isinstance(errors, dict):
        return [message for value in errors.values() for message in _messages(value)]
    if isinstance(errors, (list, tuple)):
        return [message for value in errors for message in _messages(value)]
    return [str(errors)]


def _form_errors_add(form, exc: ApplicationError) -> None:
    """Show a refusal on the form: per-field messages beside their fields, the rest on top."""
    if not exc.extra:
        form.add_error(None, exc.message)
    for key, errors in exc.extra.items():
        form.add_error(key if key in form.fields else None, _messages(errors))


@login_required
def training_page(request, slug):
    """The teacher's retraining page: the options form and the project's runs."""
    project = _project(request, slug)
    manage = can_manage(user=request.user, project=project)
    # Which kind of training the project's own scores recommend; that kind is preselected.
    advice = training_mode_advice(project=project) if manage else None
    initial = {**project_config_defaults(project), **({"mode": advice.mode} if advice and advice.mode else {})}
    form = TrainingConfigForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if not manage:
            raise Http404
        if form.is_valid():
            try:
                run = training_run_start(project=project, user=request.user, config=form.config())
            except ApplicationError as exc:
                _form_errors_add(form, exc)
            else:
                messages.success(request, _("Training run %(id)d queued.") % {"id": run.pk})
                return redirect("training_run_detail", run_id=run.pk)
    runs = training_run_list(user=request.user, project=project)[:20]
    status = 400 if request.method == "POST" else 200
    return render(request, "training/training.html", {"project": project, "form": form, "runs": runs, "can_manage": manage,
                                                      "advice": advice}, status=status)


@login_required
def training_run_detail(request, run_id):
    """Live progress of one run; the page polls the run's API and grows the curves."""
    try:
        run = training_run_get(user=request.user, run_id=run_id)
    except ApplicationError as exc:
        raise Http404(str(exc.message)) from exc
    texts = {"loss": _("loss"), "val_loss": _("validation loss"), "accuracy": _("accuracy"), "val_accuracy": _("validation accuracy"), "epoch": _("epoch"),
             "statuses": {value: str(label) for value, label in TrainingRun.Status.choices},
             "stages": {key: str(label) for key, label in STAGE_LABELS.items()},
             "stage_typical": stage_typical_seconds(project=run.project),
             "stage_hint": _("The stage “%(stage)s” usually takes about %(typical)s here; it started %(elapsed)s ago."),
             "stage_elapsed": _("The stage “%(stage)s” started %(elapsed)s ago."),
             "heartbeat": _("Last sign of life from the worker: %(ago)s ago."),
             "minutes": _("%(n)s min"), "seconds": _("%(n)s s")}
    version = getattr(run, "model_version", None)
    network = network_summary(version) if version else {"fallback": fallback_reason(run.log)}
    # A finished run has no current stage: it would still read "writing the model card".
    stage = STAGE_LABELS.get(run.stage, run.stage) if run.status != TrainingRun.Status.SUCCEEDED else None
    return render(request, "training/run.html", {
        "run": run, "project": run.project, "can_manage": can_manage(user=request.user, project=run.project), "texts": texts,
        "stage_label": stage, "network": network, "log_lines": training_run_log_lines(run=run, entries=run.log),
        "outcome": training_run_outcome(run=run),
        "new_labels": automatic_run_new_labels(run=run) if run.automatic else None,
    })


@login_required
def versions_page(request, slug):
    """Every model version of the project, side by side."""
    project = _project(request, slug)
    versions = list(model_version_list(user=request.user, project=project).order_by("-number"))
    for version in versions:
        version.network = network_summary(version)
        version.activation_text = version_activation_text(version)
        version.int8_text = version_int8_text(version)
        version.variant_rows = [(key, variant_label(key), row) for key, row in (version.metrics.get("variants") or {}).items()]
    # After an activation the page comes back with ?activated=<number>: confirm it only if that version is the active one.
    activated = next((v for v in versions if str(v.number) == request.GET.get("activated") and v.status == "active"), None)
    return render(request, "training/versions.html", {"project": project, "versions": versions, "activated": activated,
                                                      "can_manage": can_manage(user=request.user, project=project),
                                                      "tfjs_versions": {v.pk for v in versions if version_has_tfjs(v)}})


@login_required
def project_automation(request, slug):
    """The teacher's switches for the automatic quick retrain (POST from the versions page)."""
    project = _project(request, slug)
    if request.method != "POST" or not can_manage(user=request.user, project=project):
        raise Http404
    project_automation_update(project=project, user=request.user,
                              auto_quick_retrain=request.POST.get("auto_quick_retrain") == "on",
                              release_pin=request.POST.get("release_pin") == "on")
    messages.success(request, _("Saved."))
    return redirect("versions", slug=project.slug)


@login_required
def model_version_tfjs_download(request, version_id):
    """Download a version's TF.js model and Teachable Machine metadata as one zip (members of the project only)."""
    from django.http import HttpResponse

    version = model_version_get(user=request.user, version_id=version_id)
    response = HttpResponse(version_tfjs_zip(version=version), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{version.project.slug}-v{version.number}-tfjs.zip"'
    return response
