from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from apps.common.exceptions import ApplicationError
from apps.training.models import ModelVersion, ProjectAutoencoder, TrainingRun
from apps.training.services import model_version_activate


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    list_display = ("id", "project", "status", "stage", "percent", "requested_by", "created_at", "finished_at")
    list_filter = ("status", "project")
    readonly_fields = [f.name for f in TrainingRun._meta.fields]


@admin.register(ProjectAutoencoder)
class ProjectAutoencoderAdmin(admin.ModelAdmin):
    list_display = ("project", "status", "photos", "built_at", "error_message")
    list_filter = ("status",)
    readonly_fields = [f.name for f in ProjectAutoencoder._meta.fields]


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ("project", "number", "status", "source", "test_accuracy", "test_n", "health", "created_at")
    list_filter = ("status", "source", "project")
    readonly_fields = [f.name for f in ModelVersion._meta.fields]
    actions = ["activate"]

    @admin.display(description=_("model health"))
    def health(self, obj):
        from apps.inference.loader import version_health

        problem = obj.problem or version_health(obj)
        if problem:
            return format_html('<span style="color:#b00">⚠ {}</span>', problem)
        return "OK"

    @admin.action(description=_("Activate (or roll back to) this version"))
    def activate(self, request, queryset):
        for version in queryset:
            try:
                model_version_activate(version=version, user=request.user)
            except ApplicationError as exc:
                self.message_user(request, f"v{version.number}: {exc.message}", level=messages.ERROR)
            else:
                self.message_user(request, _("v%(n)d is now active.") % {"n": version.number})
