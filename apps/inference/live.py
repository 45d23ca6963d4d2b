"""The live page's configuration: the active version's served file, its input, the CAM head and the anomaly check."""
from django.urls import reverse
from django.utils.translation import gettext as _

from apps.inference.explain import browser_explain_config
from ml.runtime import MODEL_FILE, input_size_or_none


def live_config(*, project, version) -> dict:
    """Return what static/js/live.js needs; ``version`` None gives a config without a model."""
    config = {"project": project.slug, "version": None, "texts": live_texts()}
    if version is None or MODEL_FILE not in version.files:
        return config
    explain = browser_explain_config(version=version)
    config["version"] = {
        "number": version.number,
        "classes": version.metadata.get("classes", []),
        "size": input_size_or_none(version.metadata),
        "model_url": reverse("api-model-version-file", args=[version.pk, MODEL_FILE]),
        "head": explain["head"],  # (channels, classes): the heatmap is feature_maps · kernel[:, class]
        "anomaly": explain["anomaly"],  # None: a version without the browser's anomaly file shows no warning
    }
    return config


def live_texts() -> dict:
    return {
        "start": _("Start the camera"),
        "stop": _("Stop the camera"),
        "loading": _("Loading the model…"),
        "ready": _("Model ready. Start the camera or choose a picture."),
        "running": _("Camera on: each frame is classified here in your browser."),
        "denied": _("The browser was not allowed to use the camera. You can still choose a picture from a file."),
        "no_camera": _("No camera is available on this device. You can still choose a picture from a file."),
        "failed": _("The model could not be loaded"),
        "unreadable": _("“%(name)s” could not be read as a picture."),
        "fps": _("%(fps)s frames per second · %(ms)s ms per frame"),
    }
