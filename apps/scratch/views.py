"""Scratch in RIIM: the self-hosted editor at /scratch/, the RIIM extension it registers (/scratch/riim.js),
and the project page's buttons for Scratch keys and the teacher's retrain setting."""
import json

from csp.decorators import csp_update
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.http import Http404
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from apps.common.exceptions import ApplicationError
from apps.common.security_headers import permissions_policy
from apps.projects.selectors import project_get
from apps.scratch.blocks import block_texts
from apps.scratch.services import scratch_key_create, scratch_key_revoke, scratch_settings_update
from riim_site.vendor import VENDOR_FILES, node_modules, vendor_names

GUI_PREFIX = "vendor/scratch-gui"
# Scratch cleans every SVG costume inside a sandboxed srcdoc iframe, which inherits this page's policy: its
# one inline runner script is allowed by its hash (the pinned package's; a test recomputes it from the bundle).
SVG_SANDBOX_SCRIPT_HASH = "'sha256-AIzpsAr2DJF6Z9BaBAxpkIJ+YqMmAt9+K0Pkb30/BGE='"
# Scratch's editor writes its styles into the page (React style attributes, injected <style> elements),
# draws with data: and blob: pictures, fonts and sounds, and checks every project it opens against a JSON
# schema compiled with new Function (ajv): the one page whose policy allows inline styles and eval. Scripts
# still come from this site only, and nothing may be fetched from another site (the sprite libraries on
# Scratch's servers stay empty rather than reached).
editor_csp = csp_update({
    "script-src": ["'unsafe-eval'", SVG_SANDBOX_SCRIPT_HASH],
    "style-src": ["'unsafe-inline'"],
    "font-src": ["data:"],
    "media-src": ["data:"],
})


def _model_link_param(request) -> str:
    """Return the ``model`` query parameter when it is an http(s) address, else "" (the block starts empty)."""
    value = request.GET.get("model", "").strip()
    try:
        URLValidator(schemes=["http", "https"])(value)
    except ValidationError:
        return ""
    return value if value.endswith("/") else value + "/"


@require_GET
@editor_csp
@permissions_policy(camera="self")
def scratch_editor(request):
    """The Scratch editor, in the reader's language, with the RIIM blocks and the class's link filled in."""
    config = {
        "locale": get_language(),
        "basePath": static(GUI_PREFIX + "/"),
        "modelLink": _model_link_param(request),
    }
    return render(request, "scratch/editor.html", {"config": config})


@require_GET
def scratch_extension(request):
    """The RIIM extension's script, with its texts in every language; editors on other origins may load it."""
    config = {
        "messages": block_texts(),
        "defaultLanguage": settings.LANGUAGE_CODE,
        "runtimeFiles": {
            "ort": request.build_absolute_uri(static("vendor/onnxruntime-web/ort.wasm.min.js")),
            "wasm": request.build_absolute_uri(static("vendor/onnxruntime-web/")),
            "preprocess": request.build_absolute_uri(static("js/browser_preprocess.js")),
        },
    }
    # JSON is JavaScript; "<" is escaped so no text can close a <script> element around it.
    script_config = json.dumps(config, ensure_ascii=False).replace("<", "\\u003c")
    response = render(request, "scratch/riim.js", {"config": script_config},
                      content_type="text/javascript; charset=utf-8")
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = "public, max-age=300"
    return response


@require_GET
def scratch_chunk(request, name):
    """Send the editor's request for /chunks/<name> (its bundle asks at the site's root) to the listed static file."""
    folder, names = VENDOR_FILES[GUI_PREFIX]
    if f"chunks/{name}" not in vendor_names(node_modules() / folder, names):
        raise Http404(name)
    return redirect(static(f"{GUI_PREFIX}/chunks/{name}"), permanent=False)


KEY_REVOKED = _("Your Scratch key no longer works.")
SETTINGS_SAVED = _("Saved: what students may do from Scratch.")


def _project_or_404(user, slug):
    try:
        return project_get(user=user, slug=slug)
    except ApplicationError as exc:
        raise Http404(str(exc.message)) from exc


def _back_to_panel(slug):
    return redirect(reverse("project_detail", args=[slug]) + "#scratch-key")


@never_cache  # the key is in this response only
@login_required
@require_POST
def scratch_key_create_view(request, slug):
    """A student makes their Scratch key for the project; it is shown on this page, this once."""
    project = _project_or_404(request.user, slug)
    issued = scratch_key_create(project=project, user=request.user)
    return render(request, "scratch/key.html", {"project": project, "key": issued.key, "expires": issued.row.expires_at,
                                                "texts": {"copied": gettext("Copied")}})


@login_required
@require_POST
def scratch_key_revoke_view(request, slug):
    project = _project_or_404(request.user, slug)
    if scratch_key_revoke(project=project, user=request.user):
        messages.success(request, KEY_REVOKED)
    return _back_to_panel(slug)


@login_required
@require_POST
def scratch_settings_view(request, slug):
    """The teacher allows (or stops) quick retrains asked for from Scratch."""
    project = _project_or_404(request.user, slug)
    scratch_settings_update(project=project, actor=request.user,
                            students_may_retrain=request.POST.get("students_may_retrain") == "on")
    messages.success(request, SETTINGS_SAVED)
    return redirect(reverse("project_detail", args=[slug]) + "#scratch-settings")
