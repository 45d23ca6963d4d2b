from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from apps.common import admin_columns
from apps.common.exceptions import ApplicationError
from apps.projects.models import Invitation, Membership, Project
from apps.projects.selectors import project_list
from apps.training.models import TrainingRun


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "owner", "join_code", admin_columns.created)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MembershipInline]
    actions = ["retrain_model", "quick_retrain_model"]

    def get_queryset(self, request):
        # Teachers with admin access manage only their own projects.
        return super().get_queryset(request).filter(pk__in=project_list(user=request.user).values("pk"))

    @admin.action(description=_("Retrain model"), permissions=["view"])
    def retrain_model(self, request, queryset, config=None):
        from apps.training.services import training_run_start

        for project in queryset:
            try:
                run = training_run_start(project=project, user=request.user, config=config)
            except ApplicationError as exc:
                self.message_user(request, f"{project.slug}: {exc.message}", level=messages.ERROR)
            else:
                self.message_user(
                    request, _("%(project)s: training run %(run)d queued.") % {"project": project.slug, "run": run.pk}
                )

    @admin.action(description=_("Quick retrain (a new head on the cached embeddings, in seconds)"), permissions=["view"])
    def quick_retrain_model(self, request, queryset):
        self.retrain_model(request, queryset, config={"mode": TrainingRun.Mode.QUICK})


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = (admin_columns.project, admin_columns.user, "role", admin_columns.created)
    list_filter = ("role", "project")
    search_fields = ("user__username", "project__name")


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = (admin_columns.project, "username", "role", admin_columns.invited_by, admin_columns.created)
    list_filter = ("role", "project")
    search_fields = ("username", "project__name")
