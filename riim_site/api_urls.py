"""Version 1 of the REST API."""
from django.urls import path, re_path

from apps.accounts.apis import TokenLogoutApi, TokenObtainApi
from apps.common.api_errors import ApiNotFoundApi
from apps.gradebook.apis import (
    GradebookStudentUpdateApi,
    ModelVersionReviewsApi,
    ProjectGradebookApi,
    QuizAnswerApi,
)
from apps.inference.apis import (
    AnalyzeApi,
    BrowserPredictionApi,
    ImageActivationApi,
    ImageAnalysisApi,
    ImageCamApi,
    ImageErrorMapApi,
    ImageHeatmapApi,
    ImageNetworkApi,
    ProjectAnalysesRefreshApi,
)
from apps.labeling.apis import LabelCreateApi, LabelingQueueApi, LabelQualityApi, LabelUndoApi, ProjectLabelUndoApi
from apps.projects.apis import ProjectDetailApi, ProjectListCreateApi
from apps.projects.member_apis import MemberPasswordResetApi
from apps.scratch.apis import ProjectScratchKeyApi, ScratchExampleApi, ScratchRetrainApi
from apps.sharing.apis import ProjectModelLinkApi
from apps.training.apis import (
    ModelVersionActivateApi,
    ModelVersionFileApi,
    ModelVersionImportApi,
    ProjectModelVersionsApi,
    ProjectTrainingRunsApi,
    TrainingRunCancelApi,
    TrainingRunDetailApi,
)
from apps.uploads.apis import ImageDetailApi, ImageFileApi, ImageListCreateApi
from apps.uploads.import_apis import ImageImportDetailApi, ProjectImageImportPreviewApi, ProjectImageImportsApi

urlpatterns = [
    path("auth/token/", TokenObtainApi.as_view(), name="api-token"),
    path("auth/logout/", TokenLogoutApi.as_view(), name="api-logout"),
    path("projects/", ProjectListCreateApi.as_view(), name="api-projects"),
    path("projects/<slug:slug>/", ProjectDetailApi.as_view(), name="api-project-detail"),
    path("images/", ImageListCreateApi.as_view(), name="api-images"),
    path("images/<int:image_id>/", ImageDetailApi.as_view(), name="api-image-detail"),
    path("images/<int:image_id>/file/", ImageFileApi.as_view(), name="api-image-file"),
    path("images/<int:image_id>/thumbnail/", ImageFileApi.as_view(), {"variant": "thumbnail"}, name="api-image-thumbnail"),
    path("images/<int:image_id>/labels/", LabelCreateApi.as_view(), name="api-image-labels"),
    path("images/<int:image_id>/labels/undo/", LabelUndoApi.as_view(), name="api-image-labels-undo"),
    path("projects/<slug:slug>/labels/undo/", ProjectLabelUndoApi.as_view(), name="api-project-labels-undo"),
    path("projects/<slug:slug>/labeling-queue/", LabelingQueueApi.as_view(), name="api-project-labeling-queue"),
    path("projects/<slug:slug>/label-quality/", LabelQualityApi.as_view(), name="api-project-label-quality"),
    path("projects/<slug:slug>/training-runs/", ProjectTrainingRunsApi.as_view(), name="api-project-training-runs"),
    path("training-runs/<int:run_id>/", TrainingRunDetailApi.as_view(), name="api-training-run"),
    path("training-runs/<int:run_id>/cancel/", TrainingRunCancelApi.as_view(), name="api-training-run-cancel"),
    path("projects/<slug:slug>/model-versions/", ProjectModelVersionsApi.as_view(), name="api-project-model-versions"),
    path("model-versions/<int:version_id>/activate/", ModelVersionActivateApi.as_view(), name="api-model-version-activate"),
    path("analyze/", AnalyzeApi.as_view(), name="api-analyze"),
    path("images/<int:image_id>/analysis/", ImageAnalysisApi.as_view(), name="api-image-analysis"),
    path("images/<int:image_id>/analysis/heatmap.png", ImageHeatmapApi.as_view(), name="api-image-heatmap"),
    path("images/<int:image_id>/analysis/error-map.png", ImageErrorMapApi.as_view(), name="api-image-error-map"),
    path("images/<int:image_id>/analysis/cam.png", ImageCamApi.as_view(), name="api-image-cam"),
    path("images/<int:image_id>/analysis/network/", ImageNetworkApi.as_view(), name="api-image-network"),
    path("images/<int:image_id>/analysis/network/<str:layer>.png", ImageActivationApi.as_view(), name="api-image-activation"),
    path("projects/<slug:slug>/analyses/refresh/", ProjectAnalysesRefreshApi.as_view(), name="api-project-analyses-refresh"),
    path("images/<int:image_id>/browser-predictions/", BrowserPredictionApi.as_view(), name="api-image-browser-predictions"),
    path("model-versions/<int:version_id>/files/<path:name>", ModelVersionFileApi.as_view(), name="api-model-version-file"),
    path("projects/<slug:slug>/model-versions/import/", ModelVersionImportApi.as_view(), name="api-project-model-versions-import"),
    path("projects/<slug:slug>/image-imports/", ProjectImageImportsApi.as_view(), name="api-project-image-imports"),
    path(
        "projects/<slug:slug>/image-imports/preview/",
        ProjectImageImportPreviewApi.as_view(),
        name="api-project-image-imports-preview",
    ),
    path("image-imports/<int:import_id>/", ImageImportDetailApi.as_view(), name="api-image-import"),
    path("projects/<slug:slug>/gradebook/", ProjectGradebookApi.as_view(), name="api-project-gradebook"),
    # Any valid username (letters, digits and @ . + - _), so not a slug.
    path(
        "projects/<slug:slug>/gradebook/<str:username>/",
        GradebookStudentUpdateApi.as_view(),
        name="api-project-gradebook-student",
    ),
    path(
        "projects/<slug:slug>/members/<str:username>/password/",
        MemberPasswordResetApi.as_view(),
        name="api-project-member-password",
    ),
    path("projects/<slug:slug>/model-link/", ProjectModelLinkApi.as_view(), name="api-project-model-link"),
    path("projects/<slug:slug>/scratch-key/", ProjectScratchKeyApi.as_view(), name="api-project-scratch-key"),
    # RIIM's Scratch blocks, with a student's Scratch key (Authorization: Bearer).
    path("scratch/examples/", ScratchExampleApi.as_view(), name="api-scratch-examples"),
    path("scratch/retrain/", ScratchRetrainApi.as_view(), name="api-scratch-retrain"),
    path("lab/questions/<str:question_id>/answers/", QuizAnswerApi.as_view(), name="api-quiz-answers"),
    path("model-versions/<int:version_id>/reviews/", ModelVersionReviewsApi.as_view(), name="api-model-version-reviews"),
    # Last: any other address under the API is a JSON 404, not Django's HTML page.
    re_path(r"^", ApiNotFoundApi.as_view(), name="api-not-found"),
]
