from django.contrib import admin

from apps.gradebook.models import (
    AccessLog,
    AnalysisRequest,
    CoursePolicy,
    Criterion,
    FeedbackEntry,
    QuizAnswer,
    Review,
    ScoreEntry,
    VersionDataRemoval,
)


@admin.register(Criterion)
class CriterionAdmin(admin.ModelAdmin):
    list_display = ("name", "points", "project", "position")
    list_filter = ("project",)


class ReadOnlyAdmin(admin.ModelAdmin):
    """History rows are only read in the admin: they are written by the services and never changed."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ScoreEntry)
class ScoreEntryAdmin(ReadOnlyAdmin):
    list_display = ("student", "criterion", "points", "author", "created_at")
    list_filter = ("project",)


@admin.register(FeedbackEntry)
class FeedbackEntryAdmin(ReadOnlyAdmin):
    list_display = ("student", "comment", "author", "created_at")
    list_filter = ("project",)


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = ("project", "training_run", "model_version", "author", "created_at")


@admin.register(AnalysisRequest)
class AnalysisRequestAdmin(ReadOnlyAdmin):
    list_display = ("requester", "project", "ran_on", "image", "model_version", "created_at")
    list_filter = ("ran_on", "project")


@admin.register(QuizAnswer)
class QuizAnswerAdmin(ReadOnlyAdmin):
    list_display = ("user", "project", "question", "option", "correct", "created_at")
    list_filter = ("correct", "question")


@admin.register(AccessLog)
class AccessLogAdmin(ReadOnlyAdmin):
    list_display = ("viewer", "student", "what", "project", "created_at")


@admin.register(CoursePolicy)
class CoursePolicyAdmin(admin.ModelAdmin):
    list_display = ("project", "course_end", "retention_days", "purged_at")


@admin.register(VersionDataRemoval)
class VersionDataRemovalAdmin(ReadOnlyAdmin):
    list_display = ("model_version", "images_removed", "reason", "created_at")
