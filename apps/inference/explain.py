"""What a page needs to explain an answer in the browser as the server does: the CAM head and the anomaly check."""
from django.urls import reverse

from apps.training.artifacts import artifacts_local_dir
from ml.anomaly import VARIANT_MODELS
from ml.cam import load_head
from ml.runtime import ANOMALY_BROWSER_FILE, HEAD_FILE


def _file_url(version, name: str) -> str:
    return reverse("api-model-version-file", args=[version.pk, name])


def browser_explain_config(*, version) -> dict:
    """Return the head kernel (for the heatmap) and the anomaly file with the ONNX files its rules may run.

    Each is None for a version without it (an imported "classification only" version has no head;
    a version published before the browser's anomaly file has none), and the page then shows no
    heatmap or no warning.
    """
    head = None
    if HEAD_FILE in version.files:
        kernel, _bias = load_head(artifacts_local_dir(version) / HEAD_FILE)
        head = [[round(float(v), 6) for v in row] for row in kernel]  # (channels, classes)
    anomaly = None
    if ANOMALY_BROWSER_FILE in version.files:
        models = sorted({name for name in VARIANT_MODELS.values() if name in version.files})
        anomaly = {"url": _file_url(version, ANOMALY_BROWSER_FILE),
                   "models": {name: _file_url(version, name) for name in models}}
    return {"head": head, "anomaly": anomaly}
