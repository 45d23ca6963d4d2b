from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from apps.uploads.deletion import images_delete
from apps.uploads.models import Image, ImageDeletion, ImageImport


@admin.action(description=_("Delete the selected photos and everything derived from them"))
def delete_with_derived_copies(modeladmin, request, queryset):
    report = images_delete(images=queryset, actor=request.user, reason="admin")
    modeladmin.message_user(
        request,
        ngettext("%(count)d photo deleted with its copies.", "%(count)d photos deleted with their copies.", report.images)
        % {"count": report.images},
        messages.SUCCESS,
    )


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ("id", "original_name", "project", "uploader", "split", "label", "label_source", "hidden", "created_at")
    list_filter = ("project", "split", "label_source", "format", "hidden")
    search_fields = ("original_name", "sha256", "uploader__username")
    readonly_fields = ("sha256", "width", "height", "format", "size_bytes", "stats", "processed_by")
    # Django's own bulk delete would leave files, thumbnails, heatmaps and lab pictures behind.
    actions = [delete_with_derived_copies]

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def delete_model(self, request, obj):
        images_delete(images=[obj], actor=request.user, reason="admin")

    def delete_queryset(self, request, queryset):
        images_delete(images=queryset, actor=request.user, reason="admin")


@admin.register(ImageImport)
class ImageImportAdmin(admin.ModelAdmin):
    list_display = ("id", "project", "requested_by", "status", "imported", "duplicates", "created_at")
    list_filter = ("status",)
    readonly_fields = ("skipped", "classes")


@admin.register(ImageDeletion)
class ImageDeletionAdmin(admin.ModelAdmin):
    list_display = ("id", "project", "actor", "reason", "counts", "created_at")
    list_filter = ("reason",)
    readonly_fields = ("project", "actor", "reason", "image_ids", "uploaders", "counts")

    def has_add_permission(self, request):
        return False
