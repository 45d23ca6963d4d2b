from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from apps.common.exceptions import ApplicationError, NotFoundError, PermissionDeniedError
from apps.common.security_headers import permissions_policy
from apps.projects.access import can_contribute, can_manage
from apps.projects.selectors import PROJECT_NOT_FOUND, project_list_with_roles
from apps.uploads.capture import capture_config
from apps.uploads.deletion import images_delete
from apps.uploads.imports import CANNOT_IMPORT
from apps.uploads.models import Image
from apps.uploads.selectors import UNLABELED, image_moderation_list
from apps.uploads.services import CANNOT_MODERATE, images_hide

MODERATION_PAGE_SIZE = 48  # thumbnails per page: a phone scrolls through them without loading hundreds
UNKNOWN_ACTION = gettext_lazy("Choose hide, show or delete.")


@login_required
@permissions_policy(camera="self")  # the webcam capture; every other page denies the camera
def image_upload(request):
    """Drag-and-drop multi-file upload; files go one by one to the API with a progress bar."""
    projects = [p for p in project_list_with_roles(user=request.user) if can_contribute(user=request.user, project=p)]
    selected = request.GET.get("project") or (projects[0].slug if projects else "")
    texts = {
        "stored": _("stored"),
        "rejected": _("rejected"),
        "network": _("The connection failed. Try again."),
        "split": _("split"),
        "splits": {value: str(name) for value, name in Image.Split.choices},
        "analysis": _("classified as"),
        "unusual": _("unusual for this model"),
        "see_analysis": _("See how the network decided"),
        "no_model": _(
            "No model has classified it yet: the project needs a trained model first. Once your teacher trains "
            "one, its answer will appear in your history."
        ),
        # The page of image 0; the script puts each stored image's id in its place.
        "analysis_page": reverse("analysis", kwargs={"image_id": 0}),
    }
    # The selected project is the page's project: the menu links its labeling and browser pages.
    project = next((p for p in projects if p.slug == selected), None)
    return render(
        request, "uploads/upload.html", {"projects": projects, "selected": selected, "upload_texts": texts,
                                         "project": project,
                                         "capture": capture_config(projects=projects, project_select="project")}
    )


def _managed_projects(user):
    return [p for p in project_list_with_roles(user=user) if can_manage(user=user, project=p)]


@login_required
def image_import_page(request):
    """Teachers import a zip (one folder per class, or flat) or several photos: preview, map folders, import."""
    projects = _managed_projects(request.user)
    if not projects:
        raise PermissionDeniedError(CANNOT_IMPORT)
    selected = request.GET.get("project") or projects[0].slug
    texts = {
        "folder": _("Folder"),
        "files": _("Photos"),
        "klass": _("Class"),
        "skip": _("Do not import"),
        "top_level": _("(photos outside any folder)"),
        "proposed_exact": _("same name"),
        "proposed_synonym": _("same meaning"),
        "ask": _("choose a class"),
        "refused": _("Will be refused"),
        "uploading": _("Sending the file…"),
        "queued": _("Waiting for the worker…"),
        "running": _("Importing photos…"),
        "succeeded": _("Import finished."),
        "failed": _("The import failed."),
        "duplicates": _("Already in the project (duplicates)"),
        "skipped": _("Refused"),
        "network": _("The connection failed. Try again."),
        "need_class": _("Choose a class for the photos."),
        "need_mapping": _("Choose a class (or “Do not import”) for every folder."),
        "moderate": reverse("moderation"),
    }
    context = {"projects": projects, "selected": selected, "import_texts": texts,
               "max_mb": round(settings.RIIM_IMPORT_MAX_BYTES / 1024 / 1024)}
    return render(request, "uploads/import.html", context)


@login_required
def moderation(request):
    """Teachers review a project's photos as thumbnails, filter them, and hide or delete them."""
    projects = _managed_projects(request.user)
    if not projects:
        raise PermissionDeniedError(CANNOT_MODERATE)
    slug = request.GET.get("project") or request.POST.get("project") or projects[0].slug
    project = next((p for p in projects if p.slug == slug), None)
    if project is None:
        raise NotFoundError(PROJECT_NOT_FOUND)
    if request.method == "POST":
        return _moderation_act(request, project)
    student = request.GET.get("student", "").strip()
    label = request.GET.get("label", "").strip()
    unusual = request.GET.get("unusual") in ("1", "on", "true")
    images = image_moderation_list(project=project, student=student, label=label, unusual=unusual)
    paginator = Paginator(images, MODERATION_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    members = sorted(
        {project.owner.username, *project.memberships.values_list("user__username", flat=True)}
    )
    context = {
        "projects": projects, "project": project, "page": page, "members": members,
        "filters": {"student": student, "label": label, "unusual": unusual},
        "unlabeled": UNLABELED, "query": request.GET.urlencode(),
    }
    return render(request, "uploads/moderation.html", context)


def _moderation_act(request, project):
    action = request.POST.get("action")
    ids = [int(v) for v in request.POST.getlist("image") if v.isdigit()]
    images = list(Image.objects.filter(project=project, pk__in=ids).select_related("uploader"))
    back = f"{reverse('moderation')}?{request.POST.get('query') or urlencode({'project': project.slug})}"
    if action not in ("hide", "show", "delete"):
        raise ApplicationError(UNKNOWN_ACTION)
    if not images:
        messages.warning(request, _("Select at least one photo."))
        return redirect(back)
    if action in ("hide", "show"):
        count = images_hide(project=project, images=images, actor=request.user, hidden=action == "hide")
        message = (
            ngettext("%(count)d photo hidden from students.", "%(count)d photos hidden from students.", count)
            if action == "hide"
            else ngettext("%(count)d photo visible again.", "%(count)d photos visible again.", count)
        )
        messages.success(request, message % {"count": count})
        return redirect(back)
    if request.POST.get("confirm") != "yes":
        return render(request, "uploads/moderation_confirm.html",
                      {"project": project, "images": images, "query": request.POST.get("query", "")})
    report = images_delete(images=images, actor=request.user, reason="moderation")
    messages.success(
        request,
        ngettext("%(count)d photo deleted with everything made from it.",
                 "%(count)d photos deleted with everything made from them.", report.images)
        % {"count": report.images},
    )
    return redirect(back)
