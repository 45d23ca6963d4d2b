from django.http import FileResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.exceptions import ApplicationError, NotFoundError
from apps.common.permissions import IsAuthenticatedReadOrContributor
from apps.gradebook.services import photo_access_record
from apps.inference.serializers import AnalysisOutputSerializer
from apps.inference.services import image_upload_analyse
from apps.projects.selectors import project_get
from apps.uploads.limits import upload_read
from apps.uploads.selectors import image_get, image_list

FILE_MISSING = _("Choose an image file to upload (form field “file”).")
NO_STORED_FILE = _("This image has no such file.")
FILE_GONE = _("The stored file is missing.")


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
    capture_session = serializers.UUIDField(allow_null=True)
    label = serializers.CharField()
    label_source = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    stats = serializers.DictField()
    created_at = serializers.DateTimeField()
    analysis = serializers.SerializerMethodField()
    analysis_error = serializers.CharField(
        required=False, help_text="after an upload: why the active model could not analyse it (the image is kept)"
    )

    def get_url(self, obj) -> str:
        return reverse("api-image-file", kwargs={"image_id": obj.pk})

    def get_thumbnail_url(self, obj) -> str | None:
        return reverse("api-image-thumbnail", kwargs={"image_id": obj.pk}) if obj.thumbnail else None

    @extend_schema_field(AnalysisOutputSerializer(allow_null=True))
    def get_analysis(self, obj) -> dict | None:
        """The analysis by the active model, given only to the answer of an upload (null elsewhere)."""
        analysis = self.context.get("analyses", {}).get(obj.pk)
        return AnalysisOutputSerializer(analysis).data if analysis is not None else None

    def to_representation(self, obj):
        data = super().to_representation(obj)
        error = self.context.get("analysis_errors", {}).get(obj.pk)
        if error:
            data["analysis_error"] = error
        return data


class ImageListCreateApi(APIView):
    """Upload an image (multipart `file`, `project`) or list the images you can see."""

    permission_classes = [IsAuthenticatedReadOrContributor]
    parser_classes = [MultiPartParser, FormParser]
    throttle_scope = "uploads"  # per user, on POST (apps.accounts.throttles)
    pagination_class = PageNumberPagination  # also tells the schema the list is paginated

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ImageListCreateInput"  # unique OpenAPI component name

        project = serializers.SlugField()
        file = serializers.FileField(allow_empty_file=True, error_messages={"required": FILE_MISSING})
        capture_session = serializers.UUIDField(
            required=False, allow_null=True, default=None,
            help_text="webcam frames of one capture session share it, and so share one split")

    @extend_schema(
        parameters=[
            OpenApiParameter("project", str),
            OpenApiParameter("split", str, enum=["train", "validation", "test", "holdout"],
                             description="holdout: deprecated alias of test"),
            OpenApiParameter("label", str),
            OpenApiParameter("labeled", bool),
            OpenApiParameter("uploader", str),
        ],
        responses=ImageOutputSerializer(many=True),
    )
    def get(self, request):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(image_list(user=request.user, filters=request.query_params), request, view=self)
        return paginator.get_paginated_response(ImageOutputSerializer(page, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: ImageOutputSerializer})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        project = project_get(user=request.user, slug=serializer.validated_data["project"])
        upload = serializer.validated_data["file"]
        done = image_upload_analyse(project=project, uploader=request.user, raw=upload_read(upload), name=upload.name,
                                    capture_session=serializer.validated_data["capture_session"])
        context = {"analyses": {done.image.pk: done.analysis}, "analysis_errors": {done.image.pk: done.analysis_error}}
        return Response(ImageOutputSerializer(done.image, context=context).data, status=status.HTTP_201_CREATED)


class ImageDetailApi(APIView):
    permission_classes = [IsAuthenticatedReadOrContributor]

    @extend_schema(responses=ImageOutputSerializer)
    def get(self, request, image_id):
        return Response(ImageOutputSerializer(image_get(user=request.user, image_id=image_id)).data)


class ImageFileApi(APIView):
    """Serve the stored image (or its thumbnail) to members of its project only; the teacher's, a grader's or
    staff's opening of a student's photo goes to the access log."""

    permission_classes = [IsAuthenticatedReadOrContributor]

    @extend_schema(responses={(200, "image/*"): bytes})
    def get(self, request, image_id, variant="file"):
        image = image_get(user=request.user, image_id=image_id)
        field = image.thumbnail if variant == "thumbnail" else image.file
        if not field:
            raise NotFoundError(NO_STORED_FILE)
        try:
            handle = field.storage.open(field.name, "rb")
        except FileNotFoundError as exc:
            raise ApplicationError(FILE_GONE) from exc
        photo_access_record(image=image, viewer=request.user)
        return FileResponse(handle, content_type="image/jpeg" if field.name.endswith(".jpg") else "image/png")
