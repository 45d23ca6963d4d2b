from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.common.exceptions import NotFoundError
from apps.common.forms import MAX_QUERY_INTEGER, query_params_clean
from apps.common.security_headers import permissions_policy
from apps.labeling.efficiency import labeling_default_reason
from apps.labeling.forms import LabelingSettingsForm
from apps.labeling.models import Label
from apps.labeling.quality import label_quality
from apps.labeling.queue import labeling_queue_ranked
from apps.labeling.selectors import label_history, label_latest_by, labeling_queue
from apps.labeling.services import CANNOT_LABEL, project_labeling_settings_update
from apps.projects.access import can_contribute, can_manage
from apps.projects.selectors import project_get
from apps.uploads.capture import capture_config

REVIEW_FOR_TEACHERS = gettext_lazy("Only the project's teacher can review its labels.")


class LabelingQuery(forms.Form):
    image = forms.IntegerField(min_value=1, max_value=MAX_QUERY_INTEGER, required=False)


@login_required
@permissions_policy(camera="self")  # the webcam capture; every other page denies the camera
def labeling(request, slug):
    """One image at a time, with keyboard shortcuts; labels are posted to the API."""
    requested = query_params_clean(LabelingQuery, request.GET)["image"]
    project = project_get(user=request.user, slug=slug)
    if not can_contribute(user=request.user, project=project):
        raise NotFoundError(CANNOT_LABEL)  # graders have no labeling page (404, as before)
    queue = labeling_queue(project=project, user=request.user)
    # The project's strategy orders the photos still to label; browsing (← →) keeps upload order.
    ranked = labeling_queue_ranked(project=project, user=request.user, limit=None)
    image = None
    if requested is not None:
        image = queue.filter(pk=requested).first()
    if image is None:
        image = queue.filter(pk=ranked[0].image_id).first() if ranked else queue.first()
    context = {
        "project": project,
        "image": image,
        "total": queue.count(),
        "labeled_by_me": queue.filter(labeled_by_me=True).count(),
        "labeled_counted": project.images.exclude(label="").count(),
        "none_of_these": Label.NONE_OF_THESE,
        "can_review": can_manage(user=request.user, project=project),
        "capture": capture_config(projects=[project]),
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
                "next_unlabeled_id": next((item.image_id for item in ranked if item.image_id != image.pk), None),
                "reason": next((item.reason for item in ranked if item.image_id == image.pk), ""),
            }
        )
    return render(request, "labeling/label.html", context)


@login_required
def label_review(request, slug):
    """The teacher's review: agreement, each student's reliability and the labels most likely wrong."""
    project = project_get(user=request.user, slug=slug)
    if not can_manage(user=request.user, project=project):
        raise NotFoundError(REVIEW_FOR_TEACHERS)
    initial = {"labeling_strategy": project.labeling_strategy, "labels_per_image": project.labels_per_image}
    form = LabelingSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        project_labeling_settings_update(project=project, actor=request.user, **form.cleaned_data)
        messages.success(request, _("Labeling settings saved."))
        return redirect("label_review", slug=slug)
    quality = label_quality(project)
    images = project.images.in_bulk([row.image_id for row in quality.suspects]
                                    + [row["image_id"] for row in quality.test_disagreements])
    context = {
        "project": project,
        "form": form,
        "default_order": labeling_default_reason(),
        "quality": quality,
        "alpha_per_class": [(name, value) for name, value in quality.alpha_per_class.items()],
        "suspects": [(row, images[row.image_id]) for row in quality.suspects if row.image_id in images],
        "test_disagreements": [(sorted(row["answers"].items(), key=lambda item: -item[1]), images[row["image_id"]])
                               for row in quality.test_disagreements if row["image_id"] in images],
        "texts": {
            "saved": _("Saved: the teacher's label is now “%(label)s”."),
            "error": _("Could not save the label"),
        },
    }
    return render(request, "labeling/review.html", context)
