"""Analyse images with the active model: class, tags, anomaly and a class-activation map."""
import base64
import io
import time

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from PIL import Image as PILImage

from apps.common.exceptions import ApplicationError, PermissionDeniedError
from apps.inference.attributes import attribute_tags
from apps.inference.loader import active_predictor, predictor_for
from apps.inference.models import Analysis
from apps.projects.access import can_contribute
from apps.uploads.validators import ImageRejected, image_clean


def _png(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    PILImage.fromarray(array).save(out, format="PNG")
    return out.getvalue()


def heatmap_sentence(label: str) -> str:
    return _(
        "The warm (red and yellow) areas are the parts of the picture that pushed the network most towards "
        "“%(label)s”; the cold (blue) areas hardly counted in this decision."
    ) % {"label": label}


def analysis_compute(*, version, predictor, raw: bytes) -> tuple[dict, bytes | None]:
    """Return (analysis JSON, heatmap PNG or None) for one image's bytes; stores nothing."""
    from ml import cam as cam_maps

    started = time.perf_counter()
    result = predictor.predict(raw, top_k=len(predictor.classes), with_cam=version.explainable)
    latency_ms = (time.perf_counter() - started) * 1000.0
    probabilities = result["probabilities"]
    order = np.argsort(probabilities)[::-1]
    label = predictor.classes[int(order[0])]
    tags = [{"name": t["name"], "score": round(float(t["score"]), 4), "source": "model"} for t in result.get("tags", [])]
    picture = PILImage.open(io.BytesIO(raw))
    tags += attribute_tags(picture)
    anomaly = None
    if "anomaly" in result:
        anomaly = {
            "score": round(float(result["anomaly"]["score"]), 4),
            "threshold": round(float(result["anomaly"]["threshold"]), 4),
            "is_anomaly": bool(result["anomaly"]["flagged"]),
        }
    explanation, heatmap_png = {"available": False}, None
    if "cam" in result:
        pixels = predictor.load(raw)
        overlay = cam_maps.overlay(pixels, result["cam"], opacity=0.5)
        heatmap_png = _png(np.asarray(overlay, np.uint8))
        explanation = {
            "available": True,
            "method": "CAM",
            "target": label,
            "sentence": heatmap_sentence(label),
            "heatmap_size": list(result["cam"].shape),
        }
    data = {
        "model_version": version.number,
        "label": label,
        "confidence": round(float(probabilities[int(order[0])]), 6),
        "predictions": [
            {"label": predictor.classes[int(i)], "probability": round(float(probabilities[int(i)]), 6)} for i in order
        ],
        "tags": tags,
        "anomaly": anomaly,
        "explanation": explanation,
        "latency_ms": round(latency_ms, 2),
        "ran_on": Analysis.RanOn.SERVER,
    }
    return data, heatmap_png


def analyze_upload(*, project, user, raw: bytes, name: str) -> dict:
    """Analyse an image without storing it (POST /api/v1/analyze/); the heatmap comes inline."""
    if not can_contribute(user=user, project=project):
        raise PermissionDeniedError(_("You cannot analyse images in this project."))
    try:
        image_clean(raw, name)
    except ImageRejected as exc:
        raise ApplicationError(exc.message) from exc
    version, predictor = active_predictor(project)
    data, heatmap_png = analysis_compute(version=version, predictor=predictor, raw=raw)
    if heatmap_png is not None:
        data["explanation"]["heatmap_png"] = base64.b64encode(heatmap_png).decode("ascii")
    return data


def analysis_to_json(analysis: Analysis) -> dict:
    data = {
        "id": analysis.pk,
        "model_version": analysis.model_version.number,
        "label": analysis.label,
        "confidence": analysis.confidence,
        "predictions": analysis.predictions,
        "tags": analysis.tags,
        "anomaly": analysis.anomaly or None,
        "explanation": dict(analysis.explanation),
        "latency_ms": analysis.latency_ms,
        "ran_on": analysis.ran_on,
        "created_at": analysis.created_at.isoformat(),
    }
    if analysis.heatmap:
        data["explanation"]["heatmap_url"] = f"/api/v1/images/{analysis.image_id}/analysis/heatmap.png?version={analysis.model_version.number}"
    return data


def image_analysis_create(*, image, version=None) -> Analysis:
    """Analyse a stored image with a version (default: the active one) and keep the result."""
    if version is None:
        version, predictor = active_predictor(image.project)
    else:
        predictor = predictor_for(version)
    existing = Analysis.objects.filter(image=image, model_version=version, ran_on=Analysis.RanOn.SERVER).first()
    if existing:
        return existing
    with image.file.open("rb") as fh:
        raw = fh.read()
    data, heatmap_png = analysis_compute(version=version, predictor=predictor, raw=raw)
    heatmap_name = ""
    if heatmap_png is not None:
        heatmap_name = default_storage.save(f"analyses/{image.project.slug}/{image.pk}-v{version.number}.png", ContentFile(heatmap_png))
    try:
        with transaction.atomic():
            return Analysis.objects.create(
                image=image,
                model_version=version,
                label=data["label"],
                confidence=data["confidence"],
                predictions=data["predictions"],
                tags=data["tags"],
                anomaly=data["anomaly"] or {},
                is_anomaly=bool(data["anomaly"] and data["anomaly"]["is_anomaly"]),
                explanation=data["explanation"],
                latency_ms=data["latency_ms"],
                heatmap=heatmap_name,
            )
    except IntegrityError:  # analysed concurrently by another request
        if heatmap_name:
            default_storage.delete(heatmap_name)
        return Analysis.objects.get(image=image, model_version=version, ran_on=Analysis.RanOn.SERVER)


BAD_BROWSER_PREDICTION = _("The browser prediction must list one probability per class of that model version.")


def browser_prediction_record(*, image, user, version, probabilities, latency_ms) -> Analysis:
    """Keep a prediction computed in the student's browser, so history shows where each ran."""
    if not can_contribute(user=user, project=image.project):
        raise PermissionDeniedError(_("You cannot analyse images in this project."))
    classes = version.metadata.get("classes", [])
    if len(probabilities) != len(classes) or not all(0.0 <= float(p) <= 1.0 for p in probabilities):
        raise ApplicationError(BAD_BROWSER_PREDICTION)
    order = np.argsort(np.asarray(probabilities, np.float64))[::-1]
    return Analysis.objects.create(
        image=image,
        model_version=version,
        ran_on=Analysis.RanOn.BROWSER,
        label=classes[int(order[0])],
        confidence=float(probabilities[int(order[0])]),
        predictions=[{"label": classes[int(i)], "probability": float(probabilities[int(i)])} for i in order],
        latency_ms=float(latency_ms),
    )
