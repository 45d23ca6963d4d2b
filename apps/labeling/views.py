from django import forms
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.translation import gettext as _

from apps.common.exceptions import NotFoundError
from apps.common.forms import MAX_QUERY_INTEGER, query_params_clean
from apps.labeling.models import Label
from apps.labeling.selectors import label_history, label_latest_by, labeling_queue
from apps.labeling.services import CANNOT_LABEL
from apps.projects.access import can_contribute
from apps.projects.selectors import project_get


class LabelingQuery(forms.Form):
    image = forms.IntegerField(min_value=1, max_value=MAX_QUERY_INTEGER, required=False)


@login_required
def labeling(request, slug):
    """One image at a time, with keyboard shortcuts; labels are posted to the API."""
    requested = query_params_clean(LabelingQuery, request.GET)["image"]
    project = project_get(user=request.user, slug=slug)
    if not can_contribute(user=request.user, project=project):
        raise NotFoundError(CANNOT_LABEL)  # graders have no labeling page (404, as before)
    queue = labeling_queue(project=project, user=request.user)
    image = None
    if requested is not None:
        image = queue.filter(pk=requested).first()
    if image is None:
        image = queue.filter(labeled_by_me=False).first() or queue.first()
    context = {
        "project": project,
        "image": image,
        "total": queue.count(),
        "labeled_by_me": queue.filter(labeled_by_me=True).count(),
        "labeled_counted": project.images.exclude(label="").count(),
        "none_of_these": Label.NONE_OF_THESE,
        "texts": {
            "error": _("Could not save the label"),
            "saved_previous": _("Saved “%(label)s” for the previous photo. Press U to undo it."),
            "saved_last": _("Saved “%(label)s”. Press U to undo it."),
            "undone_to": _("Undone: your answer for this photo is back to “%(label)s”."),
            "undone_empty": _("Undone: this photo no longer has an answer from you."),
            "nothing_to_undo": _("There is nothing of yours to undo in this project."),
            "none_of_these": _("None of these"),
        },
    }
    if image is not None:
        context.update(
            {
                "mine": label_latest_by(image=image, user=request.user),
                "label_source": image.get_label_source_display(),
                "history": label_history(image=image)[:10],
                "previous_id": queue.filter(pk__lt=image.pk).order_by("-pk").values_list("pk", flat=True).first(),
                "next_id": queue.filter(pk__gt=image.pk).values_list("pk", flat=True).first(),
                "next_unlabeled_id": queue.filter(pk__gt=image.pk, labeled_by_me=False).values_list("pk", flat=True).first(),
            }
        )
    return render(request, "labeling/label.html", context)
