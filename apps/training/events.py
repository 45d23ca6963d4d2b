"""The ML engine's progress events, rendered in the reader's language.

The engine reports ``ml.events.Event``: a message key and its parameters. Each key has its
translatable sentence here, with the same parameters (``%(name)s``) as the engine's English one.
A run's log stores the keys and parameters too (``log_entry``), never sentences: each reader
sees every line in their own language and time zone (``log_text``), numbers in its format.
"""
from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

# What each stage of the engine does, as the run page and the log name it (the engine reports the keys).
STAGE_LABELS = {
    "data": _("reading the images"),
    "build": _("building the network"),
    "kfold": _("k-fold cross-validation"),
    "train": _("training the classifier head"),
    "fine_tune": _("fine-tuning the top layers"),
    "evaluate": _("evaluating on the holdout"),
    "prune": _("pruning"),
    "export": _("exporting to ONNX and TFLite"),
    "quantize": _("quantizing"),
    "parity": _("checking that every format answers alike"),
    "tfjs": _("writing the TensorFlow.js model"),
    "anomaly": _("fitting the anomaly detector"),
    "autoencoder": _("training the autoencoder"),
    "tags": _("fitting the tag head"),
    "report": _("writing the model card"),
}

EVENT_MESSAGES = {
    "data.decoded": _("decoded %(done)s/%(total)s images"),
    "build.scratch": _("network ready: the CNN from scratch, from random weights"),
    "build.random": _("network ready: %(backbone)s %(alpha)s from random weights, trained end to end"),
    "build.pretrained_directory": _("network ready: %(backbone)s %(alpha)s with the pretrained weights %(file)s "
                                    "from the weights folder"),
    "build.pretrained_cache": _("network ready: %(backbone)s %(alpha)s with the pretrained weights %(file)s "
                                "from the Keras cache"),
    "build.pretrained_download": _("network ready: %(backbone)s %(alpha)s with the pretrained weights %(file)s, "
                                   "just downloaded"),
    "build.pretrained_package": _("network ready: %(backbone)s %(alpha)s with the pretrained weights %(file)s "
                                  "from the Python package %(package)s"),
    "build.fallback_package_missing": _("no pretrained weights: the Python package %(package)s that ships them is "
                                        "not installed; training the CNN from scratch instead"),
    "build.fallback_file_missing": _("no pretrained weights: the weights file %(file)s is not in the weights folder "
                                     "(RIIM_WEIGHTS_DIR); training the CNN from scratch instead"),
    "build.fallback_no_imagenet": _("no pretrained weights: there are no ImageNet weights for %(backbone)s "
                                    "%(alpha)s; training the CNN from scratch instead"),
    "build.fallback_not_found": _("no pretrained weights: %(file)s is neither in the weights folder (%(folder)s) "
                                  "nor in the Keras cache; training the CNN from scratch instead"),
    "build.fallback_not_found_download_failed": _(
        "no pretrained weights: %(file)s is neither in the weights folder (%(folder)s) nor in the Keras cache, and "
        "downloading it failed (%(error)s); training the CNN from scratch instead"),
    "build.fallback_no_folder": _("no pretrained weights: %(file)s is not in the Keras cache and no weights folder "
                                  "(RIIM_WEIGHTS_DIR) is set; training the CNN from scratch instead"),
    "build.fallback_no_folder_download_failed": _(
        "no pretrained weights: %(file)s is not in the Keras cache, no weights folder (RIIM_WEIGHTS_DIR) is set "
        "and downloading it failed (%(error)s); training the CNN from scratch instead"),
    "build.fallback_unreadable": _("no pretrained weights: the weights file %(file)s could not be loaded "
                                   "(%(error)s); training the CNN from scratch instead"),
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
# Keys of logs stored before the engine reported the network as a key: the engine's English detail.
LEGACY_EVENT_MESSAGES = {
    "build.backbone": _("network ready: %(detail)s"),
}
FALLBACK_PREFIX = "build.fallback_"
# The platform's own lines about a run (the engine never sends these keys).
RUN_MESSAGES = {
    "run.queued": _("queued by %(user)s"),
    "run.cancelled_before_start": _("cancelled by %(user)s before it started"),
    "run.cancel_requested": _("cancellation requested by %(user)s"),
    "run.started": _("started on %(host)s (process %(pid)s)"),
    "run.finished": _("finished: %(status)s"),
    "run.finished_error": _("finished: %(status)s (%(error)s)"),
    "run.swept": _("marked failed: the worker stopped reporting"),
}


def _localized(value):
    """Return a number in the active language's format (0,75 in Spanish); anything else as it is."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return formats.localize(value)
    return value


def event_text(key: str, params: dict) -> str:
    """Return the sentence of an engine event in the active language (the key itself when unknown)."""
    message = EVENT_MESSAGES.get(key) or LEGACY_EVENT_MESSAGES.get(key)
    if message is None:
        return key
    return str(message) % {name: _localized(value) for name, value in params.items()}


def log_entry(key: str, params: dict | None = None, stage: str = "") -> dict:
    """Return one log line as stored on the run: when, the stage, the message key and its parameters."""
    return {"at": timezone.now().isoformat(timespec="seconds"), "stage": stage, "key": key, "params": params or {}}


def fallback_text(event: dict | None) -> str | None:
    """Return a build event's reason for falling back to the CNN from scratch, in the active language; None if it did not."""
    key = (event or {}).get("key") or ""
    params = (event or {}).get("params") or {}
    if key.startswith(FALLBACK_PREFIX):
        return event_text(key, params)
    if key == "build.backbone" and params.get("fallback"):  # a log stored before the keys: English detail
        return str(params.get("detail") or "")
    return None


def fallback_reason(log: list) -> str | None:
    """Return why a run fell back to a network trained from scratch, as soon as its log says so."""
    for entry in log:
        if isinstance(entry, dict) and (reason := fallback_text(entry)) is not None:
            return reason
    return None


def log_text(entry) -> str:
    """Return a stored log line in the active language and time zone (older lines were stored as text)."""
    if isinstance(entry, str):
        return entry
    from apps.training.models import TrainingRun

    params = dict(entry.get("params") or {})
    if "status" in params:
        params["status"] = dict(TrainingRun.Status.choices).get(params["status"], params["status"])
    at = parse_datetime(entry.get("at") or "")
    when = f"{timezone.localtime(at):%H:%M:%S} " if at else ""
    stage = entry.get("stage")
    where = f"[{STAGE_LABELS.get(stage, stage)}] " if stage else ""
    key = entry.get("key", "")
    text = str(RUN_MESSAGES[key]) % params if key in RUN_MESSAGES else event_text(key, params)
    return f"{when}{where}{text}"
