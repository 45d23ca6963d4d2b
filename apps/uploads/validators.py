"""Validate an uploaded image with Pillow and produce a clean, metadata-free copy."""
import hashlib
import io
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

# Pillow format name -> accepted file extensions.
ALLOWED_FORMATS = {
    "JPEG": {".jpg", ".jpeg", ".jpe", ".jfif"},
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


def image_open(raw: bytes, name: str) -> tuple[PILImage.Image, str]:
    """Apply the upload rules and return (decoded upright picture, Pillow format), or raise ImageRejected.

    Uploads re-encode the picture to store it; analyses that store nothing use it as it is.
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
    ext = PurePath(original_name).suffix.lower()
    if ext not in ALLOWED_FORMATS[fmt]:
        raise ImageRejected(EXTENSION_MISMATCH % {"ext": ext or "?", "fmt": fmt})
    # Decompression bombs are refused from the header, before any pixel is decoded.
    if width * height > max_pixels:
        raise ImageRejected(TOO_MANY_PIXELS % {"pixels": f"{width * height:,}", "limit": f"{max_pixels:,}"})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            picture.seek(0)  # GIF and other animations: the first frame
            picture.load()
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
