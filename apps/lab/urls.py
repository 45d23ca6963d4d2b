from django.urls import path

from apps.lab import apis, views

urlpatterns = [
    path("", views.lab_index, name="lab"),
    path(
        "api/projects/<slug:slug>/experiments/", apis.LabExperimentStartApi.as_view(), name="api-lab-experiment-start"
    ),
    path("api/experiments/<int:experiment_id>/", apis.LabExperimentDetailApi.as_view(), name="api-lab-experiment"),
    path("<slug:topic>/", views.lab_topic, name="lab_topic"),
]
