"""How a label value reads on a page: a class name as it is, the "none of these" answer in words."""
from django import template
from django.utils.translation import gettext_lazy as _

from apps.labeling.models import Label

register = template.Library()

NONE_OF_THESE = _("None of these")


@register.filter
def label_name(value):
    """Return the label as the reader should see it ("—" when there is none)."""
    if value == Label.NONE_OF_THESE:
        return NONE_OF_THESE
    return value or "—"
