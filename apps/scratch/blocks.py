"""The texts of RIIM's Scratch blocks, menus and messages: one table, rendered in every language of the site.

Scratch shows an extension's blocks in its own locale, which an editor on another origin never tells the
server, so ``/scratch/riim.js`` carries the texts of every language and the extension picks one. Block
texts keep Scratch's ``[ARGUMENT]`` placeholders as they are.
"""
from django.conf import settings
from django.utils import translation
from django.utils.translation import pgettext_lazy

BLOCK_TEXTS = {
    "extension_name": pgettext_lazy("scratch", "Class model"),
    "use_model": pgettext_lazy("scratch", "use the model [URL]"),
    "classify": pgettext_lazy("scratch", "classify [SOURCE]"),
    "label": pgettext_lazy("scratch", "label"),
    "confidence": pgettext_lazy("scratch", "confidence of [LABEL]"),
    "is_label": pgettext_lazy("scratch", "is it [LABEL]?"),
    "when_label": pgettext_lazy("scratch", "when the label is [LABEL]"),
    "threshold": pgettext_lazy("scratch", "confidence threshold [N]"),
    "video": pgettext_lazy("scratch", "video [STATE]"),
    "model_is": pgettext_lazy("scratch", "is the model [STATE]?"),
    "add_example": pgettext_lazy("scratch", "add [SOURCE] as an example of [LABEL]"),
    "retrain": pgettext_lazy("scratch", "retrain the model (quick)"),
    "rate": pgettext_lazy("scratch", "classifications per second"),
    # Menus
    "camera": pgettext_lazy("scratch", "camera"),
    "stage": pgettext_lazy("scratch", "stage"),
    "costume": pgettext_lazy("scratch", "costume"),
    "off": pgettext_lazy("scratch", "off"),
    "on": pgettext_lazy("scratch", "on"),
    "mirror": pgettext_lazy("scratch", "mirrored"),
    "ready": pgettext_lazy("scratch", "ready"),
    "training": pgettext_lazy("scratch", "training"),
    "error": pgettext_lazy("scratch", "in error"),
    # Messages a sprite says
    "not_a_link": pgettext_lazy("scratch", "That is not a model link: it starts with http:// or https://."),
    "link_failed": pgettext_lazy("scratch", "The model link does not answer."),
    "no_model": pgettext_lazy("scratch", "No model yet: use the block «use the model» with the class's link."),
    "no_camera": pgettext_lazy("scratch", "The camera is not on: use the block «video on» first."),
    "key_prompt": pgettext_lazy("scratch", "Paste your Scratch key (make it on your project's page in RIIM). It is kept in "
                                           "this browser only, never in the project."),
    "no_key": pgettext_lazy("scratch", "Without a Scratch key the model cannot learn from Scratch."),
    "example_added": pgettext_lazy("scratch", "Example added."),
    "retrain_failed": pgettext_lazy("scratch", "The retraining did not finish: look at its page in RIIM."),
}


def block_texts() -> dict[str, dict[str, str]]:
    """Return {language code: {key: text}} for every language of the site."""
    catalogues = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            catalogues[code] = {key: str(text) for key, text in BLOCK_TEXTS.items()}
    return catalogues
