from django.http import HttpResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.exceptions import ConflictError, NotFoundError
from apps.common.forms import MAX_QUERY_INTEGER
from apps.common.negotiation import JsonOnlyNegotiation
from apps.common.permissions import IsAuthenticatedReadOrContributor
from apps.common.schema import error_responses
from apps.inference.pictures import activation_png, cam_png, error_map_png, image_network
from apps.inference.selectors import analysis_for_image, analysis_project_get, image_version
from apps.inference.serializers import AnalysisOutputSerializer, ComputedAnalysisOutputSerializer
from apps.inference.services import (
    analyses_refresh,
    analyze_upload,
    browser_prediction_record,
    image_analysis_get_or_create,
)
from apps.projects.selectors import project_get
from apps.uploads.limits import upload_read
from apps.uploads.selectors import image_get
from ml.runtime import AUTOENCODER_FILE

NO_ANALYSIS = _("This image has no analysis by that model version.")
NO_AUTOENCODER = _("This model version has no autoencoder.")
FILE_MISSING = _("Choose an image file to analyse (form field “file”).")
PNG = {(200, "image/png"): bytes}


class VersionQuerySerializer(serializers.Serializer):
    """``?version=N``: which of the project's model versions (default: the active one)."""

    version = serializers.IntegerField(
        min_value=1, max_value=MAX_QUERY_INTEGER, required=False,
        help_text="model version number (default: the active one)",
    )


def _version_number(request) -> int | None:
    """Return ``?version=N`` as a number, None when absent; anything else is a 400 naming the parameter."""
    query = VersionQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data.get("version")


def _png_response(content: bytes) -> HttpResponse:
    response = HttpResponse(content, content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"  # a version's pictures of an image never change
    return response


class AnalyzeApi(APIView):
    """Analyse an image with the project's active model without storing it (the heatmap comes inline); who asked is recorded.

    ``explanation.heatmap_png`` is the class-activation map at half the model's input size (``heatmap_size``) as a base64 PNG
    with an 8-bit palette (blue: little evidence, red: most), to blend over the photo that was sent.
    ``anomaly.parts`` gives each detector's own distance / threshold: ``served`` and, when the version
    has one, ``reference`` (the pretrained backbone's later layers as loaded, before training, continuing
    from the served network's early features); ``anomaly.score`` is then their sum.
    """

    # Keeps no photo; who may analyse in the project (students and teachers, not graders) is decided by
    # the service from the project role, so the global role check and its query are not needed here.
    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser]
    throttle_scope = "analysis"  # per user (apps.accounts.throttles)
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JsonOnlyNegotiation  # one answer format: skip parsing Accept on the hot path

    class AnalyzeInputSerializer(serializers.Serializer):
        project = serializers.SlugField()
        file = serializers.FileField(allow_empty_file=True, error_messages={"required": FILE_MISSING})

    @extend_schema(
        request=AnalyzeInputSerializer, responses={200: ComputedAnalysisOutputSerializer, **error_responses(409)}
    )
    def post(self, request):
        serializer = self.AnalyzeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        target = analysis_project_get(user=request.user, slug=serializer.validated_data["project"])
        upload = serializer.validated_data["file"]
        data = analyze_upload(target=target, raw=upload_read(upload), name=upload.name, requester=request.user)
        # The service's dict is already the response's shape, and running it through the serializer would
        # cost ~1.6 ms, a quarter of this hot path's 6 ms: the serializer documents it, and
        # tests/apps/test_api_schema.py checks the two give the same body.
        return Response(data)


class ImageAnalysisApi(APIView):
    """The analysis of a stored image by the active version (`?version=N` for another).

    Computed on first request by a student or teacher; a grader reads only what is stored (404 before).
    """

    permission_classes = [IsAuthenticatedReadOrContributor]

    @extend_schema(parameters=[VersionQuerySerializer], responses={200: AnalysisOutputSerializer, **error_responses(409)})
    def get(self, request, image_id):
        number = _version_number(request)
        image = image_get(user=request.user, image_id=image_id)
        analysis = image_analysis_get_or_create(image=image, user=request.user, version_number=number)
        return Response(AnalysisOutputSerializer(analysis).data)


class ImageHeatmapApi(APIView):
    """The stored class-activation overlay of an image's analysis."""

    permission_classes = [IsAuthenticatedReadOrContributor]

    @extend_schema(parameters=[VersionQuerySerializer], responses=PNG)
    def get(self, request, image_id):
        number = _version_number(request)
        image = image_get(user=request.user, image_id=image_id)
        analysis = analysis_for_image(image=image, version_number=number)
        if analysis is None or not analysis.heatmap:
            raise NotFoundError(NO_ANALYSIS)
        with analysis.heatmap.open("rb") as fh:
            return _png_response(fh.read())


class ImageCamApi(APIView):
    """The colourised class-activation map alone, for the page's opacity slider."""

    permission_classes = [IsAuthenticatedReadOrContributor]

    @extend_schema(parameters=[VersionQuerySerializer], responses={**PNG, **error_responses(409)})
    def get(self, request, image_id):
        number = _version_number(request)
        image = image_get(user=request.user, image_id=image_id)
        version = image_version(image=image, version_number=number)
        return _png_response(cam_png(image=image, version=version))


class ImageErrorMapApi(APIView):
    """The autoencoder's reconstruction error of the image, as a heat PNG (computed on demand)."""

    permission_classes = [IsAuthenticatedReadOrContributor]

    @extend_schema(parameters=[VersionQuerySerializer], responses={**PNG, **error_responses(409)})
    def get(self, request, image_id):
        number = _version_number(request)
        image = image_get(user=request.user, image_id=image_id)
        version = image_version(image=image, version_number=number)
        if AUTOENCODER_FILE not in version.files:
            raise ConflictError(NO_AUTOENCODER)
        return _png_response(error_map_png(image=image, version=version))


class ImageNetworkApi(APIView):
    """The network view: the version's layers (from its card) and this image's activation statistics."""

    permission_classes = [IsAuthenticatedReadOrContributor]

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ImageNetworkOutput"

        class LayerSerializer(serializers.Serializer):
            class Meta:
                ref_name = "NetworkLayerOutput"

            class StatsSerializer(serializers.Serializer):
                class Meta:
                    ref_name = "ActivationStatsOutput"

                shape = serializers.ListField(child=serializers.IntegerField())
                mean = serializers.FloatField()
                max = serializers.FloatField()

            name = serializers.CharField()
            type = serializers.CharField()
            output_shape = serializers.CharField()
            params = serializers.IntegerField()
            activation = serializers.CharField(allow_null=True, help_text="short name of a layer whose activations can be drawn")
            # Only on layers with ``activation``: this image's statistics and the address of its feature-map grid.
            stats = StatsSerializer(required=False, allow_null=True)
            url = serializers.CharField(required=False)

            def to_representation(self, row):
                data = super().to_representation(row)
                if row["activation"]:
                    layer_url = reverse(
                        "api-image-activation", kwargs={"image_id": self.context["image_id"], "layer": row["activation"]}
                    )
                    data["url"] = f"{layer_url}?version={self.context['version_number']}"
                else:
                    data.pop("stats", None)
                return data

        model_version = serializers.IntegerField()
        layers = LayerSerializer(many=True)
        first_layer_url = serializers.SerializerMethodField()

        def get_first_layer_url(self, view) -> str | None:
            return None  # filled in by to_representation, from the layers' addresses

        def to_representation(self, view):
            data = super().to_representation(view)
            data["first_layer_url"] = next((row["url"] for row in data["layers"] if row.get("url")), None)
            return data

    @extend_schema(parameters=[VersionQuerySerializer], responses={200: OutputSerializer, **error_responses(409)})
    def get(self, request, image_id):
        number = _version_number(request)
        image = image_get(user=request.user, image_id=image_id)
        version = image_version(image=image, version_number=number)
        view = {"model_version": version.number, "layers": image_network(image=image, version=version)}
        context = {"image_id": image.pk, "version_number": version.number}
        return Response(self.OutputSerializer(view, context=context).data)


class ImageActivationApi(APIView):
    """A grid of one layer's activations (feature maps) for this image."""

    permission_classes = [IsAuthenticatedReadOrContributor]

    @extend_schema(parameters=[VersionQuerySerializer], responses={**PNG, **error_responses(409)})
    def get(self, request, image_id, layer):
        number = _version_number(request)
        image = image_get(user=request.user, image_id=image_id)
        version = image_version(image=image, version_number=number)
        return _png_response(activation_png(image=image, version=version, layer=layer))


class BrowserPredictionApi(APIView):
    """Record a prediction made in the browser with onnxruntime-web."""

    permission_classes = [IsAuthenticatedReadOrContributor]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    class BrowserPredictionInputSerializer(serializers.Serializer):
        version = serializers.IntegerField(min_value=1, max_value=MAX_QUERY_INTEGER)
        probabilities = serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=100)
        latency_ms = serializers.FloatField(min_value=0, max_value=600_000)
        variant = serializers.ChoiceField(choices=["fp32", "int8"], required=False)

    @extend_schema(request=BrowserPredictionInputSerializer, responses={201: AnalysisOutputSerializer})
    def post(self, request, image_id):
        image = image_get(user=request.user, image_id=image_id)
        serializer = self.BrowserPredictionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        version = image_version(image=image, version_number=serializer.validated_data["version"])
        analysis = browser_prediction_record(
            image=image,
            user=request.user,
            version=version,
            probabilities=serializer.validated_data["probabilities"],
            latency_ms=serializer.validated_data["latency_ms"],
            variant=serializer.validated_data.get("variant", "fp32"),
        )
        return Response(AnalysisOutputSerializer(analysis).data, status=status.HTTP_201_CREATED)


class ProjectAnalysesRefreshApi(APIView):
    """Re-analyse every image of the project with its active version, as a background batch (teacher)."""

    permission_classes = [IsAuthenticatedReadOrContributor]

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ProjectAnalysesRefreshOutput"

        queued = serializers.BooleanField()
        images = serializers.IntegerField(help_text="how many images the batch will look at")

    @extend_schema(request=None, responses={202: OutputSerializer, **error_responses(409)})
    def post(self, request, slug):
        project = project_get(user=request.user, slug=slug)
        count = analyses_refresh(project=project, user=request.user)
        data = self.OutputSerializer({"queued": True, "images": count}).data
        return Response(data, status=status.HTTP_202_ACCEPTED)
