"""Compute and store the frozen-backbone embeddings of images (photo and mirror), in batches."""
import logging

import numpy as np
from django.db import transaction

from apps.embeddings.backbones import backbone_cache_dir, project_backbone
from apps.embeddings.models import ImageEmbedding
from apps.embeddings.sessions import embedder_for
from ml.embeddings import BATCH, to_bytes
from ml.preprocess import load_pixels

logger = logging.getLogger(__name__)


def image_pixels(image, size: int) -> np.ndarray:
    """Decode one stored image into the backbone's raw 0..255 input."""
    with image.file.open("rb") as fh:
        return load_pixels(fh, size)


def image_embeddings_compute(*, images, backbone=None) -> int:
    """Embed the images that have no row for the backbone yet; return how many rows were written.

    Unreadable images are skipped (logged): they have no embedding and the selectors leave them out.
    """
    images = list(images)
    if not images:
        return 0
    backbone = backbone or project_backbone(images[0].project)  # one project's images at a time
    fingerprint = backbone.fingerprint
    done = set(ImageEmbedding.objects.filter(image__in=images, fingerprint=fingerprint).values_list("image_id", flat=True))
    missing = [image for image in images if image.pk not in done]
    if not missing:
        return 0
    embed = embedder_for(backbone, backbone_cache_dir())
    written = 0
    for start in range(0, len(missing), BATCH):
        chunk, pixels = [], []
        for image in missing[start : start + BATCH]:
            try:
                pixels.append(image_pixels(image, backbone.image_size))
                chunk.append(image)
            except Exception as exc:  # a damaged or deleted file: that image only
                logger.warning("image %s could not be embedded: %s", image.pk, exc)
        if not chunk:
            continue
        photo, flipped = embed(np.stack(pixels))
        rows = [ImageEmbedding(image=image, fingerprint=fingerprint, vector=to_bytes(p), mirror=to_bytes(m))
                for image, p, m in zip(chunk, photo, flipped, strict=True)]
        with transaction.atomic():
            # Two workers embedding the same image write the same bytes: the second one is ignored.
            ImageEmbedding.objects.bulk_create(rows, ignore_conflicts=True)
        written += len(rows)
    return written
