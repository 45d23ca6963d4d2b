from django.http import FileResponse, Http404
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.exceptions import ApplicationError
from apps.common.permissions import IsAuthenticatedReadOrContributor
from apps.projects.selectors import project_get
from apps.uploads.limits import upload_read
from apps.uploads.selectors import image_get, image_list
from apps.uploads.services import image_upload_create

FILE_MISSING = _("Choose an image file to upload (form field “file”).")


class ImageOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.CharField(source="project.slug")
    uploader = serializers.CharField(source="uploader.username")
    original_name = serializers.CharField()
    url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()
    sha256 = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    format = serializers.CharField()
    split = serializers.CharField()
    label = serializers.CharField()
    label_source = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    stats = serializers.DictField()
    created_at = serializers.DateTimeField()
    analysis = serializers.SerializerMethodField()

    def get_url(self, obj) -> str:
        return reverse("api-image-file", kwargs={"image_id": obj.pk})

    def get_thumbnail_url(self, obj) -> str | None:
        return reverse("api-image-thumbnail", kwargs={"image_id": obj.pk}) if obj.thumbnail else None

    def get_analysis(self, obj) -> dict | None:
        return self.context.get("analyses", {}).get(obj.pk)


class ImageListCreateApi(APIView):
    """Upload an image (multipart `file`, `project`) or list the images you can see."""

    permission_classes = [IsAuthenticatedReadOrContributor]
    parser_classes = [MultiPartParser, FormParser]
    throttle_scope = "uploads"  # per user, on POST (apps.accounts.throttles)

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ImageListCreateInput"  # unique OpenAPI component name

        project = serializers.SlugField()
        file = serializers.FileField(allow_empty_file=True, error_messages={"required": FILE_MISSING})

    @extend_schema(
        parameters=[
            OpenApiParameter("project", str),
            OpenApiParameter("split", str),
            OpenApiParameter("label", str),
            OpenApiParameter("labeled", bool),
            OpenApiParameter("uploader", str),
        ],
        responses=ImageOutputSerializer(many=True),
    )
    def get(self, request):
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(image_list(user=request.user, filters=request.query_params), request, view=self)
        return paginator.get_paginated_response(ImageOutputSerializer(page, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: ImageOutputSerializer})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        project = project_get(user=request.user, slug=serializer.validated_data["project"])
        upload = serializer.validated_data["file"]
        image = image_upload_create(project=project, uploader=request.user, raw=upload_read(upload), name=upload.name)
        return Response(self.created_payload(request, image), status=status.HTTP_201_CREATED)

    def created_payload(self, request, image):
        """The stored image plus its analysis by the active model (null when there is none yet)."""
        from apps.inference.services import analysis_to_json, image_analysis_create
        from apps.training.selectors import model_version_active

        analyses, analysis_error = {}, None
        version = model_version_active(project=image.project)
        if version is not None:
            try:
                analyses[image.pk] = analysis_to_json(image_analysis_create(image=image, version=version))
            except ApplicationError as exc:  # the upload is kept even when the model cannot answer
                analysis_error = str(exc.message)
        data = ImageOutputSerializer(image, context={"analyses": analyses}).data
        if analysis_error:
            data["analysis_error"] = analysis_error
        return data


class ImageDetailApi(APIView):
    permission_classes = [IsAuthenticatedReadOrContributor]

    @extend_schema(responses=ImageOutputSerializer)
    def get(self, request, image_id):
        return Response(ImageOutputSerializer(image_get(user=request.user, image_id=image_id)).data)


class ImageFileApi(APIView):
    """Serve the stored image (or its thumbnail) to members of its project only."""

    permission_classes = [IsAuthenticatedReadOrContributor]

    @extend_schema(responses={(200, "image/*"): bytes})
    def get(self, request, image_id, variant="file"):
        image = image_get(user=request.user, image_id=image_id)
        field = image.thumbnail if variant == "thumbnail" else image.file
        if not field:
            raise Http404
        try:
            handle = field.storage.open(field.name, "rb")
        except FileNotFoundError as exc:
            raise ApplicationError(_("The stored file is missing."), extra={}) from exc
        return FileResponse(handle, content_type="image/jpeg" if field.name.endswith(".jpg") else "image/png")
