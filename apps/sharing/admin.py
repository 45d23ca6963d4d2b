from django.contrib import admin

from apps.sharing.models import ModelLink


@admin.register(ModelLink)
class ModelLinkAdmin(admin.ModelAdmin):
    """Links are made and withdrawn by the teacher's page; the admin shows who shared what, and can delete."""

    list_display = ("project", "created_by", "created_at")
    search_fields = ("project__slug", "project__name")
    readonly_fields = ("project", "token", "created_by", "created_at", "updated_at")

    def has_add_permission(self, request):
        return False
