"""Analyse images with a model version: class, tags, anomaly and a class-activation map."""
import base64
import io
import logging
import time
from dataclasses import dataclass

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from PIL import Image as PILImage
from PIL import ImageOps

from apps.common.exceptions import ApplicationError, ConflictError, NotFoundError, PermissionDeniedError
from apps.gradebook.services import analysis_request_record
from apps.inference.attributes import attribute_tags
from apps.inference.imagenet_categories import CATEGORY_NAMES
from apps.inference.loader import NO_ACTIVE_MODEL, active_predictor, predictor_for
from apps.inference.models import Analysis
from apps.inference.pictures import image_bytes, png_bytes
from apps.inference.selectors import AnalysisTarget, analysis_for_image, image_version
from apps.projects.access import CONTRIBUTOR_ROLES, can_contribute, can_manage
from apps.training.selectors import model_version_active
from apps.uploads import validators as upload_rules
from apps.uploads.models import Image
from apps.uploads.services import image_upload_create
from ml import cam as cam_maps
from ml.analysis import ImageAnalysis, analyse

logger = logging.getLogger(__name__)

CANNOT_ANALYSE = gettext_lazy("You cannot analyse images in this project.")
ONLY_TEACHER_REFRESHES = gettext_lazy("Only the project's teacher can re-analyse its images.")
NOT_ANALYSED_YET = gettext_lazy(
    "This image has not been analysed by that model version yet; only the project's students and teachers can "
    "start an analysis."
)
BAD_BROWSER_PREDICTION = gettext_lazy("The browser prediction must list one probability per class of that model version.")
IMAGENET_TOP_K = 3  # ImageNet names are a curiosity next to the project's classes: a few suffice
IMAGENET_MIN_PROBABILITY = 0.05  # below this an ImageNet name is noise
SECOND_CATEGORY_MIN_PROBABILITY = 0.25  # a second category is named only when it holds a fair share
UNSURE_TAG = gettext_lazy("I don't know what this is")
HEATMAP_OPACITY = 0.5  # the stored overlay; the result page has a slider
INLINE_HEATMAP_SCALE = 2  # the heatmap in /analyze/ answers is half the model's input size


def image_check(raw: bytes, name: str) -> PILImage.Image:
    """Apply the upload rules (same messages as uploads) and return the decoded, upright picture."""
    try:
        picture, _fmt = upload_rules.image_open(raw, name)
    except upload_rules.ImageRejected as exc:
        raise ApplicationError(exc.message) from exc
    return picture


def heatmap_sentence(label: str) -> str:
    """Return one plain sentence on what the class-activation map shows."""
    return _(
        "The warm (red and yellow) areas are the parts of the picture that pushed the network most towards "
        "“%(label)s”; the cold (blue) areas hardly counted in this decision."
    ) % {"label": label}


def anomaly_sentence(is_anomaly: bool) -> str:
    if is_anomaly:
        return _("This picture looks unlike the ones the model was trained on: take its answer with care.")
    return _("This picture looks like the ones the model was trained on.")


def _content_tags(categories: dict | None) -> list[dict]:
    """What is in the photo, in the reader's language: the coarse ImageNet categories, or «I don't know».

    A category is the sum of its ImageNet classes' probabilities; the second one is named too when it
    holds a fair share. Below the version's calibrated threshold the top one is not said.
    """
    if not categories:
        return []
    ranked = categories["categories"]
    if categories["unsure"]:
        return [{"name": str(UNSURE_TAG), "score": round(ranked[0]["probability"], 4), "source": "imagenet",
                 "kind": "unsure"}]
    named = [ranked[0]] + [row for row in ranked[1:2] if row["probability"] >= SECOND_CATEGORY_MIN_PROBABILITY]
    return [{"name": str(CATEGORY_NAMES.get(row["category"], row["category"])), "score": round(row["probability"], 4),
             "source": "imagenet", "kind": "category"} for row in named]


def _model_tags(result: ImageAnalysis) -> list[dict]:
    """Tags from the learned tag head and, when shipped with the version, what ImageNet sees in the photo.

    ImageNet's fine class names (in English) are details; its coarse categories are named in the reader's language.
    """
    tags = [
        {"name": t["tag"], "score": round(t["probability"], 4), "source": "model"}
        for t in result.tags
        if t["present"]
    ]
    tags += _content_tags(result.imagenet_categories)
    tags += [
        {"name": row["label"], "score": round(row["probability"], 4), "source": "imagenet", "kind": "detail"}
        for row in result.imagenet
        if row["probability"] >= IMAGENET_MIN_PROBABILITY
    ]
    return tags


def analysis_compute(
    *, version, predictor, picture: PILImage.Image, cam_size: int | None = None
) -> tuple[dict, np.ndarray | None, np.ndarray]:
    """Return (analysis JSON, [0, 1] class-activation map or None, model input pixels) for one image; stores nothing.

    The map is ``cam_size`` pixels square (default: the model's input size). The latency covers
    what the student waits for: preprocessing, the network, the anomaly score, the tags and the
    class-activation map.
    """
    started = time.perf_counter()
    pixels = predictor.load_picture(picture)  # the rest of the preprocessing function training used
    # The engine's one analysis: the network, the anomaly score (with the second opinion the version
    # has), the tags and, for an explainable version, the class-activation map.
    result = analyse(predictor, pixels, cam=version.explainable, cam_size=cam_size, imagenet_k=IMAGENET_TOP_K)
    probabilities, order, top, label = result.probabilities, result.order, result.top, result.label
    anomaly = None
    if result.anomaly is not None:
        verdict = result.anomaly
        anomaly = {
            "score": round(float(verdict["score"]), 4),
            "threshold": round(float(verdict["threshold"]), 4),
            "is_anomaly": bool(verdict["flagged"]),
            # Each detector's own distance / threshold: which network found the picture unusual.
            "parts": {name: round(float(ratio), 4) for name, ratio in verdict["parts"].items()},
        }
    tags = _model_tags(result)
    tags += attribute_tags(picture, pixels)
    explanation, cam = {"available": False}, result.cam
    if cam is not None:
        explanation = {
            "available": True,
            "method": "CAM",
            "target": label,
            "sentence": heatmap_sentence(label),
            "heatmap_size": list(cam.shape),
            "heatmap_min": round(float(cam.min()), 4),
            "heatmap_max": round(float(cam.max()), 4),
        }
    if anomaly is not None:
        explanation["anomaly_sentence"] = anomaly_sentence(anomaly["is_anomaly"])
    latency_ms = (time.perf_counter() - started) * 1000.0
    data = {
        "model_version": version.number,
        "label": label,
        "confidence": round(float(probabilities[top]), 6),
        "predictions": [
            {"label": predictor.classes[int(i)], "probability": round(float(probabilities[int(i)]), 6)} for i in order
        ],
        "tags": tags,
        "anomaly": anomaly,
        "explanation": explanation,
        "latency_ms": round(latency_ms, 2),
        "ran_on": Analysis.RanOn.SERVER.value,
    }
    return data, cam, pixels


def analyze_upload(*, target: AnalysisTarget, raw: bytes, name: str, requester=None) -> dict:
    """Analyse an image without storing it (POST /api/v1/analyze/); the heatmap comes inline.

    The photo is not kept, but who asked is (apps.gradebook); ``requester`` None records nothing (benchmarks).
    """
    if target.role not in CONTRIBUTOR_ROLES:
        raise PermissionDeniedError(CANNOT_ANALYSE)
    picture = image_check(raw, name)
    version, predictor = active_predictor(
        target.project, active_version_id=target.active_version_id, active_version_dir=target.active_version_dir
    )
    # The colour map alone, one byte per pixel, at half the input size: the client has the photo
    # to blend it over, and a map upsampled from a 7x7 grid loses nothing at that size while its
    # PNG encodes four times faster.
    size = predictor.image_size // INLINE_HEATMAP_SCALE
    data, cam, _pixels = analysis_compute(version=version, predictor=predictor, picture=picture, cam_size=size)
    if requester is not None:
        analysis_request_record(
            project=target.project, requester=requester, ran_on=Analysis.RanOn.SERVER, version=version
        )
    if cam is not None:
        # Sent uncompressed: zlib only shrinks a smooth 112x112 map from 13 to 8 KB, for twice the time.
        heatmap = png_bytes(cam_maps.colormap_image(cam), compress_level=0)
        data["explanation"]["heatmap_png"] = base64.b64encode(heatmap).decode("ascii")
    return data


def image_analysis_create(*, image, version=None) -> Analysis:
    """Analyse a stored image with a version (default: the active one) and keep the result.

    One server analysis per image and version: asking again returns the stored one.
    """
    if version is None:
        version, predictor = active_predictor(image.project)
    else:
        predictor = predictor_for(version)
    existing = Analysis.objects.filter(image=image, model_version=version, ran_on=Analysis.RanOn.SERVER).first()
    if existing:
        return existing
    raw = image_bytes(image)
    picture = ImageOps.exif_transpose(PILImage.open(io.BytesIO(raw)))
    data, cam, pixels = analysis_compute(version=version, predictor=predictor, picture=picture)
    heatmap_name = ""
    if cam is not None:
        overlay = png_bytes(cam_maps.overlay(pixels, cam, opacity=HEATMAP_OPACITY))
        heatmap_name = default_storage.save(
            f"analyses/{image.project.slug}/{image.pk}-v{version.number}.png", ContentFile(overlay)
        )
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


def image_analysis_get_or_create(*, image, user, version_number: int | None = None) -> Analysis:
    """Return the stored analysis of an image by a version (default: the active one), computing it on first request.

    Only those who may analyse in the project start one: a read-only role (grader) reads what is
    stored, and a GET of theirs never runs the model nor writes a row.
    """
    analysis = analysis_for_image(image=image, version_number=version_number)
    contributor = can_contribute(user=user, project=image.project)
    if analysis is None:
        version = image_version(image=image, version_number=version_number)
        if not contributor:
            raise NotFoundError(NOT_ANALYSED_YET)
        analysis = image_analysis_create(image=image, version=version)
    if contributor:  # a request to analyse, even when the result was stored already; a grader's reading is not
        analysis_request_record(
            project=image.project, requester=user, ran_on=Analysis.RanOn.SERVER, image=image, version=analysis.model_version
        )
    return analysis


@dataclass(frozen=True)
class AnalysedUpload:
    """A stored upload and what the active model said about it."""

    image: Image
    analysis: Analysis | None  # None: no active model yet, or it could not answer
    analysis_error: str | None = None  # why the model could not answer; the upload is kept all the same


def image_upload_analyse(*, project, uploader, raw: bytes, name: str, capture_session=None) -> AnalysedUpload:
    """Store an uploaded image, then analyse it with the project's active model when there is one."""
    image = image_upload_create(project=project, uploader=uploader, raw=raw, name=name, capture_session=capture_session)
    version = model_version_active(project=project)
    if version is None:
        return AnalysedUpload(image=image, analysis=None)
    try:
        analysis = image_analysis_create(image=image, version=version)
    except ApplicationError as exc:
        return AnalysedUpload(image=image, analysis=None, analysis_error=str(exc.message))
    analysis_request_record(
        project=project, requester=uploader, ran_on=Analysis.RanOn.SERVER, image=image, version=version
    )
    return AnalysedUpload(image=image, analysis=analysis)


def analyses_refresh(*, project, user) -> int:
    """Queue the re-analysis of every image of a project with its active version; return how many images."""
    from apps.inference.tasks import analyses_refresh_task

    if not can_manage(user=user, project=project):
        raise PermissionDeniedError(ONLY_TEACHER_REFRESHES)
    version = model_version_active(project=project)  # only queues work: no model is loaded here
    if version is None:
        raise ConflictError(NO_ACTIVE_MODEL)
    count = project.images.count()
    transaction.on_commit(lambda: analyses_refresh_task.delay(project.pk, version.pk))
    return count


def analyses_refresh_run(*, project, version) -> dict:
    """Analyse every image of a project that the version has not analysed yet (the Celery batch)."""
    done = skipped = failed = 0
    analysed = set(
        Analysis.objects.filter(model_version=version, ran_on=Analysis.RanOn.SERVER).values_list("image_id", flat=True)
    )
    for image in project.images.order_by("pk").iterator():
        if image.pk in analysed:
            skipped += 1
            continue
        try:
            image_analysis_create(image=image, version=version)
            done += 1
        except Exception:  # one unreadable file must not stop the batch
            logger.exception("analysis of image %s with version %s failed", image.pk, version.pk)
            failed += 1
    return {"analysed": done, "skipped": skipped, "failed": failed}


def browser_prediction_record(*, image, user, version, probabilities, latency_ms, variant="fp32") -> Analysis:
    """Keep a prediction computed in the student's browser, so history shows where each ran."""
    if not can_contribute(user=user, project=image.project):
        raise PermissionDeniedError(CANNOT_ANALYSE)
    classes = version.metadata.get("classes", [])
    values = [float(p) for p in probabilities]
    if len(values) != len(classes) or not all(0.0 <= p <= 1.0 for p in values) or abs(sum(values) - 1.0) > 0.01:
        raise ApplicationError(BAD_BROWSER_PREDICTION)
    order = np.argsort(-np.asarray(values, np.float64))
    analysis_request_record(
        project=image.project, requester=user, ran_on=Analysis.RanOn.BROWSER, image=image, version=version
    )
    return Analysis.objects.create(
        image=image,
        model_version=version,
        ran_on=Analysis.RanOn.BROWSER,
        label=classes[int(order[0])],
        confidence=values[int(order[0])],
        predictions=[{"label": classes[int(i)], "probability": values[int(i)]} for i in order],
        latency_ms=float(latency_ms),
        explanation={"variant": variant},
    )
