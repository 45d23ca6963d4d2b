"""The ML engine's progress events, rendered in the reader's language.

The engine reports ``ml.events.Event``: a message key and its parameters. Each key has its
translatable sentence here, with the same parameters (``%(name)s``) as the engine's English one.
"""
from django.utils.translation import gettext_lazy as _

EVENT_MESSAGES = {
    "data.decoded": _("decoded %(done)s/%(total)s images"),
    "build.backbone": _("network ready: %(detail)s"),
    "kfold.fold": _("fold %(fold)s/%(folds)s"),
    "kfold.done": _("k-fold cross-validation done"),
    "train.epoch": _("epoch %(epoch)s/%(epochs)s, loss %(loss)s, validation accuracy %(val_accuracy)s"),
    "evaluate.accuracy": _("test accuracy %(accuracy)s"),
    "prune.start": _("pruning to %(percent)s%% sparsity"),
    "prune.epoch": _("fine-tuning after pruning, epoch %(epoch)s/%(epochs)s"),
    "export.start": _("exporting to ONNX and TFLite"),
    "quantize.int8": _("quantizing to int8"),
    "quantize.float16": _("converting to float16"),
    "parity.start": _("comparing Keras, ONNX and TFLite outputs"),
    "tfjs.start": _("writing the TensorFlow.js model"),
    "anomaly.start": _("fitting the anomaly detector"),
    "autoencoder.start": _("training the autoencoder"),
    "autoencoder.epoch": _("autoencoder epoch %(epoch)s/%(epochs)s"),
    "tags.start": _("fitting the tag head"),
    "report.done": _("model card written"),
}


def event_text(key: str, params: dict) -> str:
    """Return the sentence of an engine event in the active language (the key itself when unknown)."""
    message = EVENT_MESSAGES.get(key)
    if message is None:
        return key
    return str(message) % params
