"""The project's network page: which frozen network computes everything, its measured trade-offs, the switch."""
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.common.exceptions import ApplicationError
from apps.common.forms import BootstrapFormMixin
from apps.embeddings.backbones import backbone_choice_label, backbone_label
from apps.embeddings.selectors import project_embedding_progress
from apps.projects.access import can_manage
from apps.projects.measurements import backbone_measurements, default_gain
from apps.projects.services import project_backbone_update
from apps.projects.views import _project_or_404

NETWORK_CHANGED = gettext_lazy("The network is now %(name)s. Its photos are being embedded again in the background.")


class NetworkForm(BootstrapFormMixin, forms.Form):
    """One registry network and input size, offered by their speed in plain words."""

    choice = forms.ChoiceField(label=gettext_lazy("Network"))

    def __init__(self, *args, **kwargs):
        from ml.backbones import REGISTRY

        super().__init__(*args, **kwargs)
        self.fields["choice"].choices = [
            (f"{entry.name}:{size}", f"{backbone_choice_label(entry.name)} · {size} px")
            for entry in REGISTRY.values() if entry.pretrained for size in entry.sizes
        ]


@login_required
def project_network_view(request, slug):
    """Show the project's network and its embedding progress; its teacher switches it (POST)."""
    project = _project_or_404(request.user, slug)
    manage = can_manage(user=request.user, project=project)
    form = NetworkForm(initial={"choice": f"{project.backbone}:{project.backbone_image_size}"})
    if request.method == "POST" and manage:
        form = NetworkForm(request.POST)
        if form.is_valid():
            name, size = form.cleaned_data["choice"].split(":")
            try:
                project = project_backbone_update(project=project, actor=request.user, name=name, image_size=int(size))
                messages.success(request, NETWORK_CHANGED % {"name": backbone_label(name)})
                return redirect("project_network", slug=slug)
            except ApplicationError as exc:
                messages.error(request, exc.message)
    progress = project_embedding_progress(project)
    return render(request, "projects/network.html", {
        "project": project, "can_manage": manage, "form": form, "progress": progress,
        "network": backbone_label(project.backbone), "rows": backbone_measurements(),
        "gain": default_gain(project),
        "title": _("Network"),
    })
