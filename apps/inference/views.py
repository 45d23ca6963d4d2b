from django import forms
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from apps.common.forms import MAX_QUERY_INTEGER, query_params_clean
from apps.common.security_headers import permissions_policy
from apps.inference.explain import browser_explain_config
from apps.inference.loader import variant_servable
from apps.inference.selectors import image_analyses
from apps.projects.access import can_contribute, can_manage
from apps.projects.selectors import project_get
from apps.training.selectors import model_version_active
from apps.training.tfjs import version_has_tfjs
from apps.uploads.selectors import image_get, image_list
from ml.evaluation import near_chance
from ml.runtime import TFJS_FILES, VARIANT_FILES, input_size_or_none


def _texts() -> dict:
    """Words the pages' scripts show, translated on the server."""
    return {
        "probability": _("probability"),
        "server": _("Server"),
        "browser": _("Browser"),
        "anomaly": _("Unusual picture"),
        "normal": _("Usual picture"),
        "score": _("score"),
        "threshold": _("threshold"),
        "opinions": _("Each network's own opinion (1 = its threshold):"),
        "part_served": _("this class's network"),
        "part_reference": _("the original pretrained network"),
        "part_unpruned": _("the network before pruning"),
        "loading": _("Loading…"),
        "failed": _("Something went wrong"),
        "no_activation": _("This layer has no activations to show (only blocks with an activation function do)."),
        "params": _("parameters"),
        "output": _("output"),
        "channels_shown": _("first channels of this layer for this picture (light = strong activation)"),
        "agree": _("Browser and server agree"),
        "disagree": _("Browser and server disagree"),
        "ms": _("ms"),
        "working": _("Classifying…"),
        "unreadable": _("“%(name)s” could not be read as a picture: choose a JPEG, PNG or WebP photo."),
        "recorded": _("recorded in your history"),
        "max_delta": _("largest difference between probabilities"),
        "no_model": _("This project has no active model yet."),
        "more_details": _("more details"),
        "no_browser_check": _("This version has no unusual-photo check for the browser: it was published before "
                              "the browser could run one. The server's analysis page still checks each photo."),
        "no_heatmap": _("This version has no heatmap: it was imported without its last layer's weights."),
        "tfjs_only_probabilities": _("TensorFlow.js runs a copy of the classifier alone, which gives only the "
                                     "probabilities: choose ONNX Runtime Web for the unusual-photo check and the heatmap."),
    }


class AnalysisPageQuery(forms.Form):
    version = forms.IntegerField(min_value=1, max_value=MAX_QUERY_INTEGER, required=False)


def _near_chance(versions, number, num_classes) -> dict | None:
    """Return the shown version's sealed test score (n, 95 % interval) and the guessing score when they are close."""
    shown = next((v for v in versions if v.number == number), None)
    if shown is None or not near_chance(shown.test_accuracy, num_classes):
        return None
    low, high = shown.test_summary["ci95"] or (None, None)
    return {"accuracy": shown.test_accuracy, "n": shown.test_n, "low": low, "high": high, "chance": 1 / num_classes,
            "classes": num_classes}


@login_required
def analysis_page(request, image_id):
    """Everything the model says about one stored image, explained."""
    selected = query_params_clean(AnalysisPageQuery, request.GET)["version"]
    image = image_get(user=request.user, image_id=image_id)
    version = model_version_active(project=image.project)
    versions = image.project.model_versions.order_by("-number")
    context = {
        "image": image,
        "project": image.project,
        "active_version": version,
        "versions": versions,
        "selected_version": selected if selected is not None else (version.number if version else None),
        "near_chance": _near_chance(versions, selected if selected is not None else (version.number if version else None),
                                    len(image.project.classes)),
        "history": image_analyses(image=image)[:20],
        "can_manage": can_manage(user=request.user, project=image.project),
        "texts": _texts(),
        "config": {
            "image": image.pk,
            "analysis_url": reverse("api-image-analysis", args=[image.pk]),
            "network_url": reverse("api-image-network", args=[image.pk]),
            "file_url": reverse("api-image-file", args=[image.pk]),
        },
    }
    return render(request, "inference/analysis.html", context)


@login_required
def browser_page(request, slug):
    """Run the active model in the student's browser with onnxruntime-web, next to the server."""
    project = project_get(user=request.user, slug=slug)
    version = model_version_active(project=project)
    images = image_list(user=request.user, filters={"project": project.slug}).order_by("-created_at", "-id")[:24]
    config = {
        "project": project.slug,
        "can_record": can_contribute(user=request.user, project=project),
        "version": None,
    }
    if version is not None:
        files = {  # an int8 file judged to lose accuracy is not offered (apps.inference.loader.variant_servable)
            variant: reverse("api-model-version-file", args=[version.pk, name])
            for variant, name in VARIANT_FILES.items()
            if variant_servable(version, variant)
        }
        config["version"] = {
            "id": version.pk,
            "number": version.number,
            "classes": version.metadata.get("classes", []),
            "size": input_size_or_none(version.metadata),  # the served graphs' input, as the server feeds them
            "files": files,
            # The TF.js export (Teachable Machine's input: pixel / 127 - 1); None for imported and older versions.
            "tfjs": ({"model": reverse("api-model-version-file", args=[version.pk, TFJS_FILES["tfjs_model"]])}
                     if version_has_tfjs(version) else None),
            # The heatmap's head and the anomaly check: a picture from the computer is answered as the server does.
            **browser_explain_config(version=version),
        }
    config["images"] = [
        {
            "id": image.pk,
            "name": image.original_name,
            "label": image.label,
            "file_url": reverse("api-image-file", args=[image.pk]),
            "thumbnail_url": reverse("api-image-thumbnail", args=[image.pk]) if image.thumbnail else None,
            "analysis_url": reverse("api-image-analysis", args=[image.pk]),
            "browser_url": reverse("api-image-browser-predictions", args=[image.pk]),
        }
        for image in images
    ]
    return render(
        request,
        "inference/browser.html",
        {"project": project, "version": version, "config": config, "texts": _texts()},
    )


@login_required
@permissions_policy(camera="self")  # the live camera; every other page denies it
def live_page(request, slug):
    """Classify the webcam continuously in the browser with the active version (ONNX Runtime Web)."""
    from apps.inference.live import live_config

    project = project_get(user=request.user, slug=slug)
    version = model_version_active(project=project)
    return render(request, "inference/live.html",
                  {"project": project, "version": version, "config": live_config(project=project, version=version)})
