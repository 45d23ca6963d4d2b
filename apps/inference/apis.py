from django.http import HttpResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.exceptions import ConflictError, NotFoundError
from apps.common.negotiation import JsonOnlyNegotiation
from apps.common.permissions import IsAuthenticatedReadOrContributor
from apps.inference.selectors import analysis_for_image, analysis_project_get, image_version
from apps.inference.services import (
    activation_png,
    activation_summary,
    analyses_refresh,
    analysis_to_json,
    analyze_upload,
    browser_prediction_record,
    cam_png,
    error_map_png,
    image_analysis_create,
    network_layers,
)
from apps.projects.selectors import project_get
from apps.uploads.limits import upload_read
from apps.uploads.selectors import image_get

NO_ANALYSIS = _("This image has no analysis by that model version.")
NO_AUTOENCODER = _("This model version has no autoencoder.")
FILE_MISSING = _("Choose an image file to analyse (form field “file”).")
VERSION_PARAM = OpenApiParameter("version", int, description="model version number (default: the active one)")

def _version_number(request):
    value = request.query_params.get("version")
    return int(value) if value and value.isdigit() else None

def _png_response(content: bytes) -> HttpResponse:
    response = HttpResponse(content, content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"  # a version's pictures of an image never change
    return response

class AnalyzeApi(APIView):
    """Analyse an image with the project's active model without storing anything (the heatmap comes inline).

    ``explanation.heatmap_png`` is the class-activation map at half the model's input size (``heatmap_size``) as a base64 PNG
    with an 8-bit palette (blue: little evidence, red: most), to blend over the photo that was sent.
    ``anomaly.parts`` gives each detector's own distance / threshold: ``served`` and, when the version
    has one, ``reference`` (the pretrained backbone's later layers as loaded, before training, continuing
    from the served network's early features); ``anomaly.score`` is then their sum.
    """

    # Stores nothing; who may analyse in the project (students and teachers, not graders) is decided by
    # the service from the project role, so the global role check and its query are not needed here.
    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser]
    throttle_scope = "analysis"  # per user (apps.accounts.throttles)
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JsonOnlyNegotiation  # one answer format: skip parsing Accept on the hot path

    class AnalyzeInputSerializer(serializers.Serializer):
        project = serializers.SlugField()
        file = serializers.FileField(allow_empty_file=True, error_messages={"required": FILE_MISSING})

    @extend_schema(request=AnalyzeInputSerializer, responses={200: dict, 409: dict})
    def post(self, request):
        serializer = self.AnalyzeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        project = analysis_project_get(user=request.user, slug=serializer.validated_data["project"])
        upload = serializer.validated_data["file"]
        return Response(analyze_upload(project=project, user=request.user, raw=upload_read(upload), name=upload.name))

class ImageAnalysisApi(APIView):
    """The analysis of a stored image by the active version (`?version=N` for another), computed on first request."""

    permission_classes = [IsAuthenticatedReadOrContributor]

    @extend_schema(parameters=[VERSION_PARAM], responses=dict)
    def get(self, request, image_id):
        image = image_get(user=request.user, image_id=image_id)
        number = _version_number(request)
        analysis = analysis_for_image(image=image, version_number=number)
        if analysis is None:
            analysis = image_analysis_create(image=image, version=image_version(image=image, version_number=number))
        return Response(analysis_to_json(analysis))

class ImageHeatmapApi(APIView):
    """The stored class-activation overlay of an image's analysis."""

    permission_classes = [IsAuthenticatedReadOrContributor]

    @extend_schema(parameters=[VERSION_PARAM], responses={(200, "image/png"): bytes})
    def get(self, request, image_id):
        image = image_get(user=request.user, image_id=image_id)
        analysis = analysis_for_image(image=image, version_number=_version_number(request))
        if analysis is None or not analysis.heatmap:
            raise NotFoundError(NO_ANALYSIS)
        with analysis.heatmap.open("rb") as fh:
            return _png_response(fh.read())

class ImageCamApi(APIView):
    """The colourised class-activation map alone, for the page's opacity slider."""

    permission_classes = [IsAuthenticatedReadOrContributor]

    @extend_schema(parameters=[VERSION_PARAM], responses={(200, "image/png"): bytes})
    def get(self, request, image_id):
        image = image_get(user=request.user, image_id=image_id)
        version = image_version(image=image, version_number=_version_number(request))
        return _png_response(cam_png(image=image, version=version))

class ImageErrorMapApi(APIView):
    """The autoencoder's reconstruction error of the image, as a heat PNG (computed on demand)."""

    permission_classes = [IsAuthenticatedReadOrContributor]

    @extend_schema(parameters=[VERSION_PARAM], responses={(200, "image/png"): bytes})
    def get(self, request, image_id):
        image = image_get(user=request.user, image_id=image_id)
        version = image_version(image=image, version_number=_version_number(request))
        if "autoencoder.onnx" not in version.files:
            raise ConflictError(NO_AUTOENCODER)
        return _png_response(error_map_png(image=image, version=version))

class ImageNetworkApi(APIView):
    """The network view: the version's layers (from its card) and this image's activation statistics."""

    permission_classes = [IsAuthenticatedReadOrContributor]

    @extend_schema(parameters=[VERSION_PARAM], responses=dict)
    def get(self, request, image_id):
        image = image_get(user=request.user, image_id=image_id)
        version = image_version(image=image, version_number=_version_number(request))
        layers = network_layers(version=version)
        summary = activation_summary(image=image, version=version) if "activations.onnx" in version.files else {}
        for row in layers:
            if row["activation"]:
                row["stats"] = summary.get(row["activation"])
                url = reverse("api-image-activation", kwargs={"image_id": image.pk, "layer": row["activation"]})
                row["url"] = f"{url}?version={version.number}"
        first = next((row["url"] for row in layers if row.get("url")), None)
        return Response({"model_version": version.number, "layers": layers, "first_layer_url": first})

class ImageActivationApi(APIView):
    """A grid of one layer's activations (feature maps) for this image."""

    permission_classes = [IsAuthenticatedReadOrContributor]

    @extend_schema(parameters=[VERSION_PARAM], responses={(200, "image/png"): bytes})
    def get(self, request, image_id, layer):
        image = image_get(user=request.user, image_id=image_id)
        version = image_version(image=image, version_number=_version_number(request))
        return _png_response(activation_png(image=image, version=version, layer=layer))

class BrowserPredictionApi(APIView):
    """Record a prediction made in the browser with onnxruntime-web."""

    permission_classes = [IsAuthenticatedReadOrContributor]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    class BrowserPredictionInputSerializer(serializers.Serializer):
        version = serializers.IntegerField(min_value=1)
        probabilities = serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=100)
        latency_ms = serializers.FloatField(min_value=0, max_value=600_000)
        variant = serializers.ChoiceField(choices=["fp32", "int8"], required=False)

    @extend_schema(request=BrowserPredictionInputSerializer, responses={201: dict})
    def post(self, request, image_id):
        image = image_get(user=request.user, image_id=image_id)
        serializer = self.BrowserPredictionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        version = image.project.model_versions.filter(number=serializer.validated_data["version"]).first()
        if version is None:
            raise NotFoundError(NO_ANALYSIS)
        analysis = browser_prediction_record(
            image=image,
            user=request.user,
            version=version,
            probabilities=serializer.validated_data["probabilities"],
            latency_ms=serializer.validated_data["latency_ms"],
            variant=serializer.validated_data.get("variant", "fp32"),
        )
        return Response(analysis_to_json(analysis), status=status.HTTP_201_CREATED)

class ProjectAnalysesRefreshApi(APIView):
    """Re-analyse every image of the project with its active version, as a background batch (teacher)."""

    permission_classes = [IsAuthenticatedReadOrContributor]

    @extend_schema(request=None, responses={202: dict})
    def post(self, request, slug):
        project = project_get(user=request.user, slug=slug)
        count = analyses_refresh(project=project, user=request.user)
        return Response({"queued": True, "images": count}, status=status.HTTP_202_ACCEPTED)
