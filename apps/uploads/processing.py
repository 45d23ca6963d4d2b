"""Work done on a stored image by a worker: thumbnail and pixel statistics."""
import io
import os
import posixpath
import socket

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image as PILImage

THUMBNAIL_SIZE = (256, 256)


def image_statistics(pixels: np.ndarray) -> dict:
    """Return simple, explainable statistics of an RGB array (mean colour, brightness, contrast)."""
    rgb = pixels.astype(np.float32)
    gray = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return {
        "mean_rgb": [round(float(v), 1) for v in rgb.reshape(-1, 3).mean(axis=0)],
        "brightness": round(float(gray.mean()) / 255.0, 4),
        "contrast": round(float(gray.std()) / 255.0, 4),
    }


def image_process(image, *, worker_info: dict) -> None:
    """Create the thumbnail, compute statistics and record which worker did it."""
    with default_storage.open(image.file.name, "rb") as fh:
        picture = PILImage.open(fh)
        picture.load()
    picture = picture.convert("RGB")
    stats = image_statistics(np.asarray(picture))
    thumb = picture.copy()
    thumb.thumbnail(THUMBNAIL_SIZE)
    out = io.BytesIO()
    thumb.save(out, format="JPEG", quality=85)
    base = posixpath.splitext(image.file.name)[0]
    # One thumbnail per photo even when the task runs twice (a worker killed mid-task hands it back):
    # the earlier copy is replaced, never kept beside a new "_<random>" name.
    thumb_name = f"{base}.thumb.jpg"
    for stale in {thumb_name, image.thumbnail.name or thumb_name}:
        default_storage.delete(stale)
    thumb_name = default_storage.save(thumb_name, ContentFile(out.getvalue()))
    image.thumbnail = thumb_name
    image.stats = stats
    image.processed_by = {"hostname": socket.gethostname(), "pid": os.getpid(), **worker_info}
    image.save(update_fields=["thumbnail", "stats", "processed_by", "updated_at"])
