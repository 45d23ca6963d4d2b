from django.contrib import admin

from apps.scratch.models import ScratchKey, ScratchProjectSettings


@admin.register(ScratchKey)
class ScratchKeyAdmin(admin.ModelAdmin):
    """Keys are made by students on the project page; the admin shows them (never the key) and can revoke them."""

    list_display = ("user", "project", "hint", "created_at", "expires_at", "revoked_at")
    list_filter = ("project",)
    search_fields = ("user__username", "project__slug")
    readonly_fields = ("user", "project", "key_hash", "hint", "created_at", "updated_at", "expires_at")

    def has_add_permission(self, request):
        return False


@admin.register(ScratchProjectSettings)
class ScratchProjectSettingsAdmin(admin.ModelAdmin):
    list_display = ("project", "students_may_retrain")
