from urllib.parse import quote

import segno
from django import template
from django.urls import reverse
from django.utils.translation import gettext as _

from apps.projects.access import can_manage, can_view
from apps.sharing.apis import model_link_url
from apps.sharing.models import ModelLink
from apps.training.selectors import model_version_active
from apps.training.tfjs import version_has_tfjs

register = template.Library()


@register.inclusion_tag("sharing/_model_link_panel.html", takes_context=True)
def model_link_panel(context, project):
    """The project page's public link: its teacher shares, replaces and withdraws it; members copy it once shared."""
    request = context["request"]
    manage = can_manage(user=request.user, project=project)
    link = ModelLink.objects.filter(project=project).first() if can_view(user=request.user, project=project) else None
    active = model_version_active(project=project) if link else None
    url = model_link_url(request, link) if link else ""
    # The editor with the link filled in: what students open, by a click here or from the QR code in class.
    scratch_url = request.build_absolute_uri(reverse("scratch_editor")) + "?model=" + quote(url, safe=":/") if link else ""
    return {
        "project": project,
        "can_manage": manage,
        "link": link,
        "url": url,
        "scratch_url": scratch_url,
        "qr": segno.make(scratch_url, error="m").svg_data_uri(scale=6, border=2) if link else "",
        "no_model": link is not None and active is None,
        "no_tfjs": active is not None and not version_has_tfjs(active),
        "request": request,  # for the Scratch key panel inside this one
        "csrf_token": context.get("csrf_token"),
        "texts": {"copied": _("Copied")},
    }
