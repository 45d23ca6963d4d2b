from django import forms
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from apps.common.forms import BootstrapFormMixin
from apps.labeling.queue import STRATEGY_NAMES
from ml.active_learning import DEFAULT_STRATEGY

DEFAULT_CHOICE = _("%(name)s (default)")


def _default_choice(name) -> str:
    return str(DEFAULT_CHOICE) % {"name": name}


# Read in the language of each request, not of the import: the choices are built once.
_default_choice_lazy = lazy(_default_choice, str)


class LabelingSettingsForm(BootstrapFormMixin, forms.Form):
    """The teacher's choices for how the class labels: the queue's order and how many people label each photo."""

    labeling_strategy = forms.ChoiceField(
        label=_("Order of the photos to label"),
        choices=[(value, _default_choice_lazy(name) if value == DEFAULT_STRATEGY else name)
                 for value, name in STRATEGY_NAMES.items()],
        help_text=_("The mix takes turns: the photos the model doubts most, photos unlike the labeled ones, "
                    "photos with conflicting labels and photos at random."),
    )
    labels_per_image = forms.IntegerField(
        label=_("Labels per image"),
        min_value=1,
        max_value=3,
        help_text=_("How many students should label each photo. With more than one, photos that still need "
                    "labels are shown first, and the agreement between students can be measured."),
    )
