from django.urls import path, re_path

from apps.common.api_errors import ApiNotFoundApi
from apps.lab import apis, views

urlpatterns = [
    path("", views.lab_index, name="lab"),
    path(
        "api/projects/<slug:slug>/experiments/", apis.LabExperimentStartApi.as_view(), name="api-lab-experiment-start"
    ),
    path("api/experiments/<int:experiment_id>/", apis.LabExperimentDetailApi.as_view(), name="api-lab-experiment"),
    re_path(r"^api/", ApiNotFoundApi.as_view(), name="lab-api-not-found"),  # any other address under the lab's API: a JSON 404
    path("<slug:topic>/", views.lab_topic, name="lab_topic"),
]
