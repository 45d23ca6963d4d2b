from django.contrib import admin

from apps.labeling.models import Label


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin):
    list_display = ("id", "image", "author", "label", "source", "created_at")
    list_filter = ("source", "image__project")
    search_fields = ("author__username", "label")
    raw_id_fields = ("image",)
