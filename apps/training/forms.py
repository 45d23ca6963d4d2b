from django import forms
from django.utils.translation import gettext_lazy as _

from apps.common.forms import BootstrapFormMixin
from apps.training.configs import DEFAULT_CONFIG


class TrainingConfigForm(BootstrapFormMixin, forms.Form):
    """The retraining options, with defaults that work on a classroom computer."""

    backbone = forms.ChoiceField(
        label=_("Network"),
        choices=[
            ("mobilenet", _("MobileNet (pretrained, fine-tuned)")),
            ("mobilenet_v2", _("MobileNetV2 (pretrained, fine-tuned)")),
            ("scratch", _("Small CNN from scratch")),
        ],
        help_text=_("A pretrained network already knows shapes and textures from millions of photos: it learns your classes with few images."),
    )
    alpha = forms.TypedChoiceField(
        label=_("MobileNet width (alpha)"), coerce=float, choices=[(0.25, "0.25"), (0.5, "0.5"), (0.75, "0.75"), (1.0, "1.0")],
        help_text=_("Wider networks are more accurate but slower and larger."),
    )
    weights = forms.CharField(label=_("Pretrained weights"), max_length=200,
                              help_text=_("“imagenet”, “none”, or the name of a file in the weights folder."))
    image_size = forms.IntegerField(label=_("Image size (pixels)"), min_value=32, max_value=512)
    epochs = forms.IntegerField(label=_("Epochs"), min_value=1, max_value=200,
                                help_text=_("How many times the network sees every training image."))
    fine_tune_epochs = forms.IntegerField(label=_("Fine-tuning epochs"), min_value=0, max_value=200,
                                          help_text=_("Extra epochs with the top of the pretrained network unfrozen, at a lower learning rate."))
    augment = forms.ChoiceField(label=_("Data augmentation"), choices=[("none", _("None")), ("light", _("Light")), ("strong", _("Strong"))],
                                help_text=_("Random flips, turns, zooms and colour changes so the network does not memorise the photos."))
    dropout = forms.FloatField(label=_("Dropout"), min_value=0.0, max_value=0.9,
                               help_text=_("Share of features switched off at random while training, against overfitting."))
    folds = forms.IntegerField(label=_("Cross-validation folds (k)"), min_value=0, max_value=10,
                               help_text=_("0 skips k-fold cross-validation."))
    prune = forms.FloatField(label=_("Pruning sparsity"), min_value=0.0, max_value=0.95, required=False,
                             help_text=_("Share of weights set to zero to make the model smaller; empty or 0 skips pruning."))
    quantize = forms.MultipleChoiceField(label=_("Quantization"), required=False, widget=forms.CheckboxSelectMultiple,
                                         choices=[("int8", "int8"), ("float16", "float16")])
    seed = forms.IntegerField(label=_("Random seed"), min_value=0)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", DEFAULT_CONFIG)
        super().__init__(*args, **kwargs)

    def config(self) -> dict:
        data = dict(self.cleaned_data)
        data["prune"] = data.get("prune") or None
        return data
