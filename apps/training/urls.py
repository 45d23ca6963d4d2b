from django.urls import path

from apps.training import views

urlpatterns = [
    path("projects/<slug:slug>/training/", views.training_page, name="training"),
    path("projects/<slug:slug>/versions/", views.versions_page, name="versions"),
    path("projects/<slug:slug>/automation/", views.project_automation, name="project_automation"),
    path("training-runs/<int:run_id>/", views.training_run_detail, name="training_run_detail"),
    path("model-versions/<int:version_id>/tfjs.zip", views.model_version_tfjs_download, name="model_version_tfjs_zip"),
]
