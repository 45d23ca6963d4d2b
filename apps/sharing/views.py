"""The public model link's files (no login, no cookies, readable from any origin), and the teacher's buttons.

Teachable Machine's tools and TF.js load ``<link>model.json`` and then the weights next to it from
pages on other origins (TM2Scratch, p5.js editors, a student's page), so every answer, errors
included, carries ``Access-Control-Allow-Origin: *``; errors are JSON ``{"detail": …}`` that such a
page can read and show.
"""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from apps.accounts.throttles import throttle_wait
from apps.common.exceptions import ApplicationError, ConflictError
from apps.projects.selectors import project_get
from apps.sharing.models import ModelLink
from apps.sharing.selectors import FILE_GONE, model_link_file
from apps.sharing.services import model_link_create, model_link_revoke
from apps.sharing.throttles import ModelLinkAddressThrottle

LINK_SHARED = _("The model has a public link now. Share it with your class only: whoever has it can load the model.")
LINK_REPLACED = _("New link made. The previous one no longer works.")
LINK_WITHDRAWN = _("Link withdrawn: its address no longer serves the model.")
LINK_THROTTLED = _("Too many requests for model files from this address. Try again in a minute.")
# Short enough that a new activation reaches a class within seconds; the ETag makes each check cheap.
CACHE_CONTROL = "public, max-age=10"
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Expose-Headers": "ETag",
    # A page that isolates itself (COEP) may still load the files.
    "Cross-Origin-Resource-Policy": "cross-origin",
}


def _with_cors(response):
    for header, value in CORS_HEADERS.items():
        response[header] = value
    return response


def _error(message, status: int):
    return _with_cors(JsonResponse({"detail": str(message)}, status=status))


def _project_or_404(user, slug):
    try:
        return project_get(user=user, slug=slug)
    except ApplicationError as exc:
        raise Http404(str(exc.message)) from exc


def _if_none_match(request) -> set[str]:
    return {tag.strip() for tag in request.headers.get("If-None-Match", "").split(",") if tag.strip()}


@require_http_methods(["GET", "HEAD", "OPTIONS"])
def model_link_file_view(request, token, name=""):
    """Serve one file of the active version of the link's project (see ``apps.sharing.selectors.LINK_FILES``)."""
    if request.method == "OPTIONS":  # a preflight: the answer is the headers
        return _with_cors(HttpResponse(status=204))
    wait = throttle_wait(request, [ModelLinkAddressThrottle()])
    if wait:
        response = _error(LINK_THROTTLED, 429)
        response["Retry-After"] = str(wait)
        return response
    try:
        served = model_link_file(token=token, name=name)
    except ApplicationError as exc:
        return _error(exc.message, exc.status_code)
    if served.etag in _if_none_match(request):
        response = HttpResponse(status=304)
    elif served.content is not None:
        response = HttpResponse(served.content, content_type=served.content_type)
    else:
        try:
            handle = default_storage.open(served.storage_path, "rb")
        except FileNotFoundError:
            return _error(FILE_GONE % {"name": name}, ConflictError.status_code)
        response = FileResponse(handle, content_type=served.content_type)
    response["ETag"] = served.etag
    response["Cache-Control"] = CACHE_CONTROL
    return _with_cors(response)


@login_required
@require_POST
def model_link_share_view(request, slug):
    """The teacher's button: make the project's link, or replace its token (the old address stops at once)."""
    project = _project_or_404(request.user, slug)
    replaced = ModelLink.objects.filter(project=project).exists()
    model_link_create(project=project, actor=request.user)
    messages.success(request, LINK_REPLACED if replaced else LINK_SHARED)
    return redirect(reverse("project_detail", args=[slug]) + "#model-link")


@login_required
@require_POST
def model_link_withdraw_view(request, slug):
    """The teacher's button: withdraw the project's link; its address answers 404 from now on."""
    project = _project_or_404(request.user, slug)
    if model_link_revoke(project=project, actor=request.user):
        messages.success(request, LINK_WITHDRAWN)
    return redirect(reverse("project_detail", args=[slug]) + "#model-link")
