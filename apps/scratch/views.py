"""Scratch in RIIM: the self-hosted editor at /scratch/ and the RIIM extension it registers, /scratch/riim.js."""
import json

from csp.decorators import csp_update
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.http import Http404
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils.translation import get_language
from django.views.decorators.http import require_GET

from apps.common.security_headers import permissions_policy
from apps.scratch.blocks import block_texts
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
