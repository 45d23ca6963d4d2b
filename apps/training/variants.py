"""The exported model variants named in words, in the reader's language (their keys are ml.runtime's)."""

from django.utils.translation import gettext_lazy as _

# Keys as the card's sizes, latency and variants sections write them; a key missing here is shown as it is.
VARIANT_LABELS = {
    "keras": _("Keras (the trained network)"),
    "onnx_fp32": _("ONNX (the one that answers)"),
    "onnx_int8": _("ONNX with 8-bit integers"),
    "onnx_unpruned": _("ONNX without pruning"),
    "tflite_fp32": _("TFLite for phones"),
    "tflite_dynamic": _("TFLite, 8-bit weights"),
    "tflite_float16": _("TFLite, 16-bit weights"),
    "tflite_int8": _("TFLite, integers only"),
    "tfjs": _("TensorFlow.js for the browser"),
}


def variant_label(key: str) -> str:
    """Return the variant's name in words, or its key when it has none."""
    return str(VARIANT_LABELS.get(key, key))
