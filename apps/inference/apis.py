import io

from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.exceptions import ConflictError, NotFoundError
from apps.common.permissions import IsAuthenticatedReadOrContributor
from apps.inference.loader import predictor_for
from apps.inference.selectors import analysis_for_image
from apps.inference.services import analysis_to_json, analyze_upload, browser_prediction_record, image_analysis_create
from apps.projects.selectors import project_get
from apps.training.selectors import model_version_active
from apps.uploads.selectors import image_get

NO_ANALYSIS = _("This image has no analysis by that model version.")
NO_AUTOENCODER = _("This model version has no autoencoder.")


class AnalyzeApi(APIView):
    """Analyse an image with the project's active model without storing anything."""

    permission_classes = [IsAuthenticatedReadOrContributor]
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        project = serializers.SlugField()
        file = serializers.FileField(allow_empty_file=True)

    @extend_schema(request=InputSerializer, responses={200: dict, 409: dict})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        project = project_get(user=request.user, slug=serializer.validated_data["project"])
        upload = serializer.validated_data["file"]
        return Response(analyze_upload(project=project, user=request.user, raw=upload.read(), name=upload.name))


def _version_param(request):
    value = request.query_params.get("version")
    return int(value) if value and value.isdigit() else None


class ImageAnalysisApi(APIView):
    """The analysis of a stored image by the active version (`?version=N` for another one)."""

    permission_classes = [IsAuthenticatedReadOrContributor]

    @extend_schema(parameters=[OpenApiParameter("version", int)], responses=dict)
    def get(self, request, image_id):
        image = image_get(user=request.user, image_id=image_id)
        number = _version_param(request)
        analysis = analysis_for_image(image=image, version_number=number)
        if analysis is None:
            version = image.project.model_versions.filter(number=number).first() if number else model_version_active(project=image.project)
            if version is None:
                raise NotFoundError(NO_ANALYSIS)
            analysis = image_analysis_create(image=image, version=version)
        return Response(analysis_to_json(analysis))


class ImageHeatmapApi(APIView):
    permission_classes = [IsAuthenticatedReadOrContributor]

    @extend_schema(parameters=[OpenApiParameter("version", int)], responses={(200, "image/png"): bytes})
    def get(self, request, image_id):
        image = image_get(user=request.user, image_id=image_id)
        analysis = analysis_for_image(image=image, version_number=_version_param(request))
        if analysis is None or not analysis.heatmap:
            raise NotFoundError(NO_ANALYSIS)
        with analysis.heatmap.open("rb") as fh:
            return HttpResponse(fh.read(), content_type="image/png")


class ImageErrorMapApi(APIView):
    """The autoencoder's reconstruction error of the image, as a heat PNG (computed on demand)."""

    permission_classes = [IsAuthenticatedReadOrContributor]

    @extend_schema(parameters=[OpenApiParameter("version", int)], responses={(200, "image/png"): bytes})
    def get(self, request, image_id):
        import numpy as np
        from ml import cam as cam_maps
        from PIL import Image as PILImage

        image = image_get(user=request.user, image_id=image_id)
        number = _version_param(request)
        version = image.project.model_versions.filter(number=number).first() if number else model_version_active(project=image.project)
        if version is None:
            raise NotFoundError(NO_ANALYSIS)
        if "autoencoder.onnx" not in version.files:
            raise ConflictError(NO_AUTOENCODER)
        predictor = predictor_for(version)
        with image.file.open("rb") as fh:
            pixels = predictor.load(fh.read())
        error = predictor.error_map(pixels)
        heat = cam_maps.normalize(np.asarray(error, np.float32))
        out = io.BytesIO()
        PILImage.fromarray(np.asarray(cam_maps.overlay(pixels, heat, opacity=0.6), np.uint8)).save(out, format="PNG")
        return HttpResponse(out.getvalue(), content_type="image/png")


class BrowserPredictionApi(APIView):
    """Record a prediction made in the browser with onnxruntime-web."""

    permission_classes = [IsAuthenticatedReadOrContributor]

    class InputSerializer(serializers.Serializer):
        version = serializers.IntegerField(min_value=1)
        probabilities = serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=100)
        latency_ms = serializers.FloatField(min_value=0)

    @extend_schema(request=InputSerializer, responses={201: dict})
    def post(self, request, image_id):
        image = image_get(user=request.user, image_id=image_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        version = image.project.model_versions.filter(number=serializer.validated_data["version"]).first()
        if version is None:
            raise NotFoundError(NO_ANALYSIS)
        analysis = browser_prediction_record(
            image=image, user=request.user, version=version,
            probabilities=serializer.validated_data["probabilities"], latency_ms=serializer.validated_data["latency_ms"],
        )
        return Response(analysis_to_json(analysis), status=status.HTTP_201_CREATED)
