"""Read the embeddings cache: a project's images as arrays, the gaps filled on demand."""
from dataclasses import dataclass

import numpy as np

from apps.embeddings.backbones import project_backbone
from apps.embeddings.models import ImageEmbedding
from ml.embeddings import from_bytes


@dataclass
class ProjectEmbeddings:
    """Embeddings of a project's images under one backbone, rows aligned with ``image_ids``."""

    image_ids: np.ndarray  # int64
    x: np.ndarray  # (n, d) float32: each photo
    x_mirror: np.ndarray  # (n, d) float32: its mirror image
    fingerprint: str

    def __iter__(self):  # image_ids, X, X_mirror = project_embeddings(...)
        return iter((self.image_ids, self.x, self.x_mirror))

    def rows(self, image_ids) -> np.ndarray:
        """Return the row of each given image id (-1 where the image has no embedding)."""
        index = {int(i): row for row, i in enumerate(self.image_ids)}
        return np.array([index.get(int(i), -1) for i in image_ids], np.int64)


def project_embeddings(project, *, image_ids=None, backbone=None, fill: bool = True) -> ProjectEmbeddings:
    """Return the cached embeddings of a project's images (or of the given ones), in primary-key order.

    With ``fill`` the images without a row are embedded first, in batches; an image that cannot be
    read is left out. Raises ApplicationError when no pretrained weights are available.
    """
    from apps.embeddings.services import image_embeddings_compute

    backbone = backbone or project_backbone(project)
    images = project.images.order_by("pk")
    if image_ids is not None:
        images = images.filter(pk__in=list(image_ids))
    if fill:
        image_embeddings_compute(images=images, backbone=backbone)
    rows = (ImageEmbedding.objects.filter(image__in=images, fingerprint=backbone.fingerprint)
            .order_by("image_id").values_list("image_id", "vector", "mirror"))
    ids, photos, mirrors = [], [], []
    for image_id, vector, mirror in rows.iterator():
        ids.append(image_id)
        photos.append(from_bytes(vector))
        mirrors.append(from_bytes(mirror))
    if not ids:
        return ProjectEmbeddings(np.zeros(0, np.int64), np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float32),
                                 backbone.fingerprint)
    return ProjectEmbeddings(np.array(ids, np.int64), np.stack(photos), np.stack(mirrors), backbone.fingerprint)


def project_embedding_progress(project) -> dict:
    """Return how many of the project's photos have an embedding under its network: ``{"done", "total"}``.

    ``done`` is None when the network has no weights here (nothing can be embedded).
    """
    from apps.common.exceptions import ApplicationError

    total = project.images.count()
    try:
        fingerprint = project_backbone(project).fingerprint
    except ApplicationError:
        return {"done": None, "total": total}
    done = ImageEmbedding.objects.filter(image__project=project, fingerprint=fingerprint).count()
    return {"done": done, "total": total}
