from django.contrib import admin

from apps.lab.models import LabExperiment


@admin.register(LabExperiment)
class LabExperimentAdmin(admin.ModelAdmin):
    list_display = ("kind", "project", "model_version", "status", "percent", "created_at")
    list_filter = ("kind", "status")
    readonly_fields = ("result",)
