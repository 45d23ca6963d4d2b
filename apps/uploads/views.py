from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from apps.projects.access import can_contribute
from apps.projects.selectors import project_list_with_roles
from apps.uploads.models import Image


@login_required
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
        # The page of image 0; the script puts each stored image's id in its place.
        "analysis_page": reverse("analysis", kwargs={"image_id": 0}),
    }
    return render(
        request, "uploads/upload.html", {"projects": projects, "selected": selected, "upload_texts": texts}
    )
