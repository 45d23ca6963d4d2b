from django.db import models
from django.utils.translation import gettext_lazy as _


class ImageEmbedding(models.Model):
    """One image's pooled features under the frozen pretrained backbone, and its mirror image's.

    Stored as float16 bytes (``ml.embeddings.to_bytes``): 512 bytes each for MobileNet 0.25. The
    fingerprint names the backbone (network, width, input size, weights file hash); rows of another
    fingerprint are simply not read, so changing the backbone or its weights invalidates the cache.
    """

    image = models.ForeignKey(
        "uploads.Image", on_delete=models.CASCADE, related_name="embeddings", verbose_name=_("image")
    )
    fingerprint = models.CharField(_("backbone fingerprint"), max_length=16, db_index=True)
    vector = models.BinaryField(_("features"))
    mirror = models.BinaryField(_("mirror image's features"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["image", "fingerprint"], name="one_embedding_per_backbone")]
        verbose_name = _("image embedding")
        verbose_name_plural = _("image embeddings")

    def __str__(self):
        return f"image {self.image_id} · {self.fingerprint}"
