from django.contrib import admin

from apps.uploads.models import Image


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ("id", "original_name", "project", "uploader", "split", "label", "label_source", "created_at")
    list_filter = ("project", "split", "label_source", "format")
    search_fields = ("original_name", "sha256", "uploader__username")
    readonly_fields = ("sha256", "width", "height", "format", "size_bytes", "stats", "processed_by")
