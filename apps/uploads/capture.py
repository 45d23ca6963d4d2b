"""Webcam capture on the upload and labeling pages: the script's configuration and texts."""
from django.urls import reverse
from django.utils.translation import gettext as _

from apps.uploads.models import Image


def capture_config(*, projects, project_select: str | None = None) -> dict:
    """Return what static/js/webcam_capture.js needs: each project's classes, the API URLs and the texts.

    ``project_select`` names the page's project <select> (the upload page); without it the first
    project is the page's one (the labeling page).
    """
    projects = list(projects)
    return {
        "projects": {p.slug: {"classes": list(p.classes or [])} for p in projects},
        "project": projects[0].slug if projects else "",
        "project_select": project_select,
        "upload_url": reverse("api-images"),
        # The labels URL of image 0; the script puts each stored image's id in its place.
        "label_url": reverse("api-image-labels", kwargs={"image_id": 0}),
        # The analysis page of image 0: a stored photo links to how the network decided, as an uploaded file does.
        "analysis_page": reverse("analysis", kwargs={"image_id": 0}),
        "texts": {
            "start": _("Start the camera"),
            "stop": _("Stop the camera"),
            "ready": _("Camera on. Hold the button to capture a burst of photos; nothing is stored yet."),
            "denied": _("The browser was not allowed to use the camera. You can still choose photos from files."),
            "no_camera": _("No camera is available on this device. You can still choose photos from files."),
            "counter": _("%(n)s photos waiting"),
            "discard": _("Discard this photo"),
            "frame_alt": _("Captured photo for “%(label)s”"),
            "frame": _("Photo %(n)s"),
            "stored": _("stored as “%(label)s” (%(split)s)"),
            "refused": _("refused"),
            "label_failed": _("stored, but the class could not be saved"),
            "network": _("The connection failed. Try again."),
            "analysis": _("classified as"),
            "unusual": _("unusual for this model"),
            "see_analysis": _("See how the network decided"),
            "splits": {value: str(name) for value, name in Image.Split.choices},
        },
    }
