"""Validate an uploaded image with Pillow and produce a clean, metadata-free copy."""
import hashlib
import io
import threading
import warnings
from dataclasses import dataclass
from pathlib import PurePath

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from PIL import Image as PILImage
from PIL import ImageOps

EMPTY_FILE = _("The file is empty.")
FILE_TOO_LARGE = _("The file is too large (the limit is %(limit)s MB).")
NOT_AN_IMAGE = _("The file is not an image we can read. Use JPEG, PNG, WebP, GIF or BMP.")
FORMAT_NOT_ALLOWED = _("This image format is not allowed. Use JPEG, PNG, WebP, GIF or BMP.")
EXTENSION_MISMATCH = _("The file extension does not match its content (%(ext)s file containing %(fmt)s).")
TOO_MANY_PIXELS = _("The image is too large in pixels (%(pixels)s; the limit is %(limit)s).")
CORRUPT_IMAGE = _("The image is damaged or incomplete and cannot be read.")
TOO_MANY_PIXELS_TO_DECODE = _(
    "This %(fmt)s image is too large to process (%(pixels)s pixels; the limit for this format is %(limit)s). "
    "Save it as JPEG or make it smaller."
)

# Pillow format name -> accepted file extensions.
ALLOWED_FORMATS = {
    "JPEG": {".jpg", ".jpeg", ".jpe", ".jfif"},
    # Multi-picture JPEG, written by many phones (a second frame for depth or a preview): the first
    # frame is an ordinary JPEG, and it is the one kept.
    "MPO": {".jpg", ".jpeg", ".jpe", ".jfif", ".mpo"},
    "PNG": {".png"},
    "WEBP": {".webp"},
    "GIF": {".gif"},
    "BMP": {".bmp"},
}


class ImageRejected(Exception):
    """The upload is not an acceptable image; the message says why."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


@dataclass(frozen=True)
class CleanImage:
    content: bytes  # re-encoded, orientation applied, no EXIF/GPS
    extension: str  # of the stored copy
    format: str  # of the upload
    width: int
    height: int
    sha256: str  # of the uploaded bytes, for duplicate detection
    original_name: str


def safe_original_name(name):
    """Keep only the last path component of a client file name (no traversal)."""
    base = PurePath(str(name).replace("\\", "/")).name.strip().lstrip(".")
    return base[:255] or "image"


_decode_slots_lock = threading.Lock()
_decode_slots: dict[int, threading.BoundedSemaphore] = {}


def _decode_slot() -> threading.BoundedSemaphore:
    """Return the semaphore that bounds how many images this process decodes at once."""
    size = max(1, settings.RIIM_UPLOAD_DECODE_CONCURRENCY)
    with _decode_slots_lock:
        return _decode_slots.setdefault(size, threading.BoundedSemaphore(size))


def _draft_scale(size: tuple[int, int], max_side: int) -> int:
    """Return the largest JPEG reduction (1, 2, 4 or 8) that keeps the long side at least max_side."""
    return next(s for s in (8, 4, 2, 1) if max(size) // s >= max_side or s == 1)


def image_open(raw: bytes, name: str) -> tuple[PILImage.Image, str]:
    """Apply the upload rules and return (decoded upright picture, Pillow format), or raise ImageRejected.

    The picture is at most RIIM_UPLOAD_MAX_SIDE pixels on its long side. Memory stays bounded: JPEG is
    decoded directly at a reduced scale (``Image.draft``), other formats only within a pixel budget, and
    at most RIIM_UPLOAD_DECODE_CONCURRENCY decodes run at once in a process. Uploads re-encode the picture
    to store it; analyses that store nothing use it as it is.
    """
    original_name = safe_original_name(name)
    if not raw:
        raise ImageRejected(EMPTY_FILE)
    limit = settings.RIIM_UPLOAD_MAX_BYTES
    if len(raw) > limit:
        raise ImageRejected(FILE_TOO_LARGE % {"limit": round(limit / 1024 / 1024, 1)})
    max_pixels = settings.RIIM_UPLOAD_MAX_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            picture = PILImage.open(io.BytesIO(raw))
            fmt, (width, height) = picture.format, picture.size
    except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning) as exc:
        raise ImageRejected(TOO_MANY_PIXELS % {"pixels": "?", "limit": f"{max_pixels:,}"}) from exc
    except Exception as exc:  # Pillow raises assorted errors on garbage headers
        raise ImageRejected(NOT_AN_IMAGE) from exc
    if fmt not in ALLOWED_FORMATS:
        raise ImageRejected(FORMAT_NOT_ALLOWED)
    if fmt == "MPO":
        fmt = "JPEG"  # the first frame, stored and reported as the plain JPEG it is
    ext = PurePath(original_name).suffix.lower()
    if ext not in ALLOWED_FORMATS[fmt]:
        raise ImageRejected(EXTENSION_MISMATCH % {"ext": ext or "?", "fmt": fmt})
    # Decompression bombs are refused from the header, before any pixel is decoded.
    if width * height > max_pixels:
        raise ImageRejected(TOO_MANY_PIXELS % {"pixels": f"{width * height:,}", "limit": f"{max_pixels:,}"})
    max_side = settings.RIIM_UPLOAD_MAX_SIDE
    try:
        picture.seek(0)  # GIF, MPO and other multi-frame files: the first frame
    except Exception as exc:
        raise ImageRejected(CORRUPT_IMAGE) from exc
    if fmt == "JPEG":
        # libjpeg scales while decoding (1/2, 1/4, 1/8): a 40 Mpx photo never exists in memory at full size.
        scale = _draft_scale(picture.size, max_side)
        if scale > 1:
            picture.draft(None, (width // scale, height // scale))
    decode_pixels = picture.size[0] * picture.size[1]
    decode_limit = settings.RIIM_UPLOAD_MAX_DECODE_PIXELS
    if decode_pixels > decode_limit:
        raise ImageRejected(
            TOO_MANY_PIXELS_TO_DECODE % {"fmt": fmt, "pixels": f"{decode_pixels:,}", "limit": f"{decode_limit:,}"}
        )
    try:
        with _decode_slot(), warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            picture.load()
            if max(picture.size) > max_side:
                picture.thumbnail((max_side, max_side), PILImage.Resampling.LANCZOS)
            ImageOps.exif_transpose(picture, in_place=True)  # no copy of a picture that is already upright
            return picture, fmt
    except Exception as exc:
        raise ImageRejected(CORRUPT_IMAGE) from exc


def image_clean(raw: bytes, name: str) -> CleanImage:
    """Return a validated, re-encoded copy of an uploaded image, or raise ImageRejected."""
    image, fmt = image_open(raw, name)
    content, out_ext = _reencode(image, fmt)
    return CleanImage(
        content=content,
        extension=out_ext,
        format=fmt,
        width=image.width,
        height=image.height,
        sha256=hashlib.sha256(raw).hexdigest(),
        original_name=safe_original_name(name),
    )


def _reencode(image, fmt):
    """Encode pixels only: a fresh image carries no EXIF, GPS, XMP or ICC text chunks."""
    out = io.BytesIO()
    if fmt == "JPEG":
        image.convert("RGB").save(out, format="JPEG", quality=92, optimize=True)
        return out.getvalue(), ".jpg"
    has_alpha = image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info)
    clean = image.convert("RGBA" if has_alpha else "RGB")
    clean.save(out, format="PNG", optimize=False)
    return out.getvalue(), ".png"
