from django import forms
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from apps.common.forms import BootstrapFormMixin
from apps.common.numbers import number_text
from apps.embeddings.backbones import backbone_choice_label
from apps.training.configs import CLASSROOM_OPTIONS, DEFAULT_CONFIG, option_bounds
from ml.config import BACKBONES

# What the form shows for each option; the fields themselves (choices, ranges) come from ml.config.
LABELS = {
    "mode": _("Kind of training"),
    "backbone": _("Network"),
    "alpha": _("MobileNet width (alpha)"),
    "weights": _("Pretrained weights"),
    "image_size": _("Image size (pixels)"),
    "epochs": _("Epochs"),
    "fine_tune_epochs": _("Fine-tuning epochs"),
    "augment": _("Data augmentation"),
    "dropout": _("Dropout"),
    "folds": _("Cross-validation folds (k)"),
    "seed": _("Random seed"),
    "prune": _("Pruning sparsity"),
    "quantize": _("Quantization"),
}
HELP_TEXTS = {
    "mode": _("Quick: only the last layer learns, on features computed once per photo; ready in seconds and usually "
              "as accurate. Full: the network itself is fine-tuned, checked and compressed; several minutes."),
    "backbone": _("A pretrained network already knows shapes and textures from millions of photos: it learns your classes with few images."),
    "alpha": _("Wider networks are more accurate but slower and larger. ImageNet weights exist for 0.25 only with MobileNet, and for 0.35, 1.3 and 1.4 only with MobileNetV2."),
    "weights": _("“imagenet”, “none”, or the name of a file in the weights folder."),
    "epochs": _("How many times the network sees every training image."),
    "fine_tune_epochs": _("Extra epochs with the top of the pretrained network unfrozen, at a lower learning rate."),
    "augment": _("Random flips, turns, zooms and colour changes so the network does not memorise the photos."),
    "dropout": _("Share of features switched off at random while training, against overfitting."),
    "folds": _("0 skips k-fold cross-validation."),
    "prune": _("Share of weights set to zero to make the model smaller; empty or 0 skips pruning."),
}


def _number_label(value) -> str:
    return lazy(number_text, str)(value) if isinstance(value, float) else str(value)


CHOICE_LABELS = {
    "mode": {"quick": _("Quick (seconds)"), "full": _("Full (minutes)")},
    "backbone": {name: lazy(backbone_choice_label, str)(name) for name in BACKBONES if name != "scratch"}
    | {"scratch": _("Small CNN from scratch")},
    "augment": {"none": _("None"), "light": _("Light"), "strong": _("Strong")},
}


def config_form_field(option) -> forms.Field:
    """Return the form field that accepts exactly the values the option accepts, labelled for the reader."""
    common = {"label": LABELS.get(option.name, option.label), "help_text": HELP_TEXTS.get(option.name, "")}
    labels = CHOICE_LABELS.get(option.name, {})
    # Numbers as the page's language writes them («0,25»), like the help texts beside them.
    choices = [(value, labels.get(value, _number_label(value))) for value in option.choices]
    if option.many and option.choices:
        return forms.MultipleChoiceField(choices=choices, required=False, widget=forms.CheckboxSelectMultiple, **common)
    if option.choices and option.name == "mode":  # a form posted without it trains as before: a full run
        return forms.TypedChoiceField(choices=choices, coerce=option.kind, required=False,
                                      empty_value=DEFAULT_CONFIG["mode"], **common)
    if option.choices:
        return forms.TypedChoiceField(choices=choices, coerce=option.kind, **common)
    if option.kind is bool:
        return forms.BooleanField(required=False, **common)
    if option.kind is int:
        return forms.IntegerField(required=not option.nullable, **option_bounds(option), **common)
    if option.kind is float:
        # Localized like every number on the page: "0,001" in Spanish (see the project form).
        return forms.FloatField(required=not option.nullable, localize=True, widget=forms.TextInput(attrs={"inputmode": "decimal"}),
                                **option_bounds(option), **common)
    if option.kind is str and not option.many:
        return forms.CharField(max_length=option.max_length, **common)
    raise TypeError(f"no form field for the option {option.name}")


class TrainingConfigForm(BootstrapFormMixin, forms.Form):
    """The retraining options, with defaults that work on a classroom computer."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", DEFAULT_CONFIG)
        super().__init__(*args, **kwargs)

    def config(self) -> dict:
        data = dict(self.cleaned_data)
        data["prune"] = data.get("prune") or None
        return data


# One field per option of the classroom set, in ml.config's order (the metaclass has already run).
TrainingConfigForm.base_fields = {option.name: config_form_field(option) for option in CLASSROOM_OPTIONS}
