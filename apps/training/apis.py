from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.permissions import IsAuthenticatedReadOrContributor
from apps.common.schema import error_responses
from apps.projects.selectors import project_get
from apps.training.selectors import model_version_get, model_version_list, training_run_get, training_run_list
from apps.training.serializers import ModelVersionOutputSerializer, TrainingRunOutputSerializer
from apps.training.services import model_version_activate, training_run_cancel, training_run_start

VERSION_FILE_GONE = _("The file %(name)s of this model version is missing from storage.")


def _paginated(request, view, queryset, serializer_class):
    paginator = view.pagination_class()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


class ProjectTrainingRunsApi(APIView):
    """List a project's runs; POST {config} starts a retrain (202)."""

    permission_classes = [IsAuthenticatedReadOrContributor]
    pagination_class = PageNumberPagination  # also tells the schema the list is paginated

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ProjectTrainingRunsInput"  # unique OpenAPI component name

        config = serializers.JSONField(required=False, default=dict)

    @extend_schema(responses=TrainingRunOutputSerializer(many=True))
    def get(self, request, slug):
        project = project_get(user=request.user, slug=slug)
        return _paginated(request, self, training_run_list(user=request.user, project=project), TrainingRunOutputSerializer)

    @extend_schema(request=InputSerializer, responses={202: TrainingRunOutputSerializer})
    def post(self, request, slug):
        project = project_get(user=request.user, slug=slug)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        run = training_run_start(project=project, user=request.user, config=serializer.validated_data["config"])
        return Response(TrainingRunOutputSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class TrainingRunDetailApi(APIView):
    permission_classes = [IsAuthenticatedReadOrContributor]

    @extend_schema(responses=TrainingRunOutputSerializer)
    def get(self, request, run_id):
        return Response(TrainingRunOutputSerializer(training_run_get(user=request.user, run_id=run_id)).data)


class TrainingRunCancelApi(APIView):
    permission_classes = [IsAuthenticatedReadOrContributor]

    @extend_schema(request=None, responses=TrainingRunOutputSerializer)
    def post(self, request, run_id):
        run = training_run_cancel(run=training_run_get(user=request.user, run_id=run_id), user=request.user)
        return Response(TrainingRunOutputSerializer(run).data)


class ProjectModelVersionsApi(APIView):
    permission_classes = [IsAuthenticatedReadOrContributor]
    pagination_class = PageNumberPagination  # also tells the schema the list is paginated

    @extend_schema(responses=ModelVersionOutputSerializer(many=True))
    def get(self, request, slug):
        project = project_get(user=request.user, slug=slug)
        return _paginated(request, self, model_version_list(user=request.user, project=project), ModelVersionOutputSerializer)


class ModelVersionActivateApi(APIView):
    """Activate a version (or roll back to an older one)."""

    permission_classes = [IsAuthenticatedReadOrContributor]

    @extend_schema(request=None, responses=ModelVersionOutputSerializer)
    def post(self, request, version_id):
        version = model_version_get(user=request.user, version_id=version_id)
        version = model_version_activate(version=version, user=request.user)
        return Response(ModelVersionOutputSerializer(version).data)


class ModelVersionFileApi(APIView):
    """Download one artifact of a version (ONNX, TFLite, card…) — members of the project only."""

    permission_classes = [IsAuthenticatedReadOrContributor]
    CONTENT_TYPES = {".json": "application/json", ".png": "image/png", ".onnx": "application/octet-stream"}

    @extend_schema(responses={(200, "application/octet-stream"): bytes, **error_responses(409)})
    def get(self, request, version_id, name):
        import posixpath
        from pathlib import PurePosixPath

        from django.core.files.storage import default_storage
        from django.http import FileResponse

        from apps.common.exceptions import ConflictError, NotFoundError
        from apps.training.selectors import VERSION_NOT_FOUND

        version = model_version_get(user=request.user, version_id=version_id)
        if name not in version.files:  # only names the version recorded: no path from the client is opened
            raise NotFoundError(VERSION_NOT_FOUND)
        try:
            handle = default_storage.open(posixpath.join(version.artifact_dir, name), "rb")
        except FileNotFoundError as exc:  # recorded but gone from storage: the version is broken, not the request
            raise ConflictError(VERSION_FILE_GONE % {"name": name}) from exc
        content_type = self.CONTENT_TYPES.get(PurePosixPath(name).suffix, "application/octet-stream")
        return FileResponse(handle, content_type=content_type, filename=PurePosixPath(name).name,
                            as_attachment=request.query_params.get("download") == "1")


class ModelVersionImportApi(APIView):
    """Upload a zipped model folder trained elsewhere; it becomes a candidate version."""

    permission_classes = [IsAuthenticatedReadOrContributor]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ModelVersionImportInput"  # unique OpenAPI component name

        file = serializers.FileField()

    @extend_schema(request=InputSerializer, responses={201: ModelVersionOutputSerializer})
    def post(self, request, slug):
        from apps.training.imports import model_version_import

        project = project_get(user=request.user, slug=slug)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        version = model_version_import(project=project, user=request.user, zip_file=serializer.validated_data["file"])
        return Response(ModelVersionOutputSerializer(version).data, status=status.HTTP_201_CREATED)
