"""Version 1 of the REST API."""
from django.urls import path

from apps.accounts.apis import TokenObtainApi
from apps.labeling.apis import LabelCreateApi, LabelUndoApi
from apps.projects.apis import ProjectDetailApi, ProjectListCreateApi
from apps.uploads.apis import ImageDetailApi, ImageFileApi, ImageListCreateApi

urlpatterns = [
    path("auth/token/", TokenObtainApi.as_view(), name="api-token"),
    path("projects/", ProjectListCreateApi.as_view(), name="api-projects"),
    path("projects/<slug:slug>/", ProjectDetailApi.as_view(), name="api-project-detail"),
    path("images/", ImageListCreateApi.as_view(), name="api-images"),
    path("images/<int:image_id>/", ImageDetailApi.as_view(), name="api-image-detail"),
    path("images/<int:image_id>/file/", ImageFileApi.as_view(), name="api-image-file"),
    path("images/<int:image_id>/thumbnail/", ImageFileApi.as_view(), {"variant": "thumbnail"}, name="api-image-thumbnail"),
    path("images/<int:image_id>/labels/", LabelCreateApi.as_view(), name="api-image-labels"),
    path("images/<int:image_id>/labels/undo/", LabelUndoApi.as_view(), name="api-image-labels-undo"),
]
