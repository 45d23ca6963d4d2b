"""Import many photos at once: preview a zip's folders, queue its import, read the summary."""
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.exceptions import ApplicationError
from apps.common.permissions import IsAuthenticatedReadOrContributor
from apps.projects.selectors import project_get
from apps.uploads.imports import image_import_create, import_preview_upload
from apps.uploads.limits import UploadSizeLimitHandler
from apps.uploads.models import ImageImport
from apps.uploads.selectors import image_import_get

FILE_MISSING = _("Choose a zip file or some photos to import (form field “file”).")


class ImageImportCreatedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=ImageImport.Status.choices)
    url = serializers.SerializerMethodField()

    def get_url(self, image_import) -> str:
        """Where to poll the import's progress and, once it ends, its summary."""
        return reverse("api-image-import", kwargs={"import_id": image_import.pk})


class SkippedSerializer(serializers.Serializer):
    name = serializers.CharField()
    reason = serializers.CharField()


class ImageImportOutputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=ImageImport.Status.choices)
    imported = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    skipped = SkippedSerializer(many=True)
    total = serializers.IntegerField(help_text="files in the import (known once it runs)")
    processed = serializers.IntegerField(help_text="files handled so far, for a progress bar")
    error = serializers.CharField(source="error_message", help_text="why a failed import stopped")


class FolderSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="folder name in the zip; empty for files at its top level")
    files = serializers.IntegerField()
    proposed = serializers.CharField(allow_null=True, help_text="the class proposed for it; null: ask")
    match = serializers.ChoiceField(choices=["exact", "synonym"], allow_null=True)


class ImportPreviewSerializer(serializers.Serializer):
    classes = serializers.ListField(child=serializers.CharField())
    folders = FolderSerializer(many=True)
    files = serializers.IntegerField()
    refused = SkippedSerializer(many=True)


class _SpooledUploadMixin:
    """Uploads of these APIs go to temporary files however small: a zip is never held in memory."""

    def initialize_request(self, request, *args, **kwargs):
        # Before anything (the CSRF check of session authentication) reads the body.
        request.upload_handlers = [UploadSizeLimitHandler(request), TemporaryFileUploadHandler(request)]
        return super().initialize_request(request, *args, **kwargs)


class ProjectImageImportsApi(_SpooledUploadMixin, APIView):
    """POST a zip (one folder per class, or flat) or loose photos: 202 with the queued import."""

    permission_classes = [IsAuthenticatedReadOrContributor]
    parser_classes = [MultiPartParser, FormParser]
    throttle_scope = "uploads"

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ProjectImageImportsInput"

        file = serializers.ListField(child=serializers.FileField(allow_empty_file=True), required=False)
        classes = serializers.CharField(required=False, allow_blank=True, help_text="JSON object: folder -> class")
        # "class" is a Python keyword: declared below.

    InputSerializer._declared_fields["class"] = serializers.CharField(
        required=False, allow_blank=True, help_text="one class for a flat zip or loose photos"
    )

    @extend_schema(request=InputSerializer, responses={202: ImageImportCreatedSerializer})
    def post(self, request, slug):
        project = project_get(user=request.user, slug=slug)
        serializer = self.InputSerializer(data={**request.data.dict(), "file": request.FILES.getlist("file")})
        serializer.is_valid(raise_exception=True)
        uploads = serializer.validated_data.get("file") or []
        if not uploads:
            raise ApplicationError(FILE_MISSING)
        image_import = image_import_create(
            project=project,
            user=request.user,
            uploads=uploads,
            classes_json=serializer.validated_data.get("classes"),
            single_class=serializer.validated_data.get("class") or None,
        )
        return Response(ImageImportCreatedSerializer(image_import).data, status=status.HTTP_202_ACCEPTED)


class ProjectImageImportPreviewApi(_SpooledUploadMixin, APIView):
    """POST a zip: its folders with a proposed class each, and the entries that would be refused. Stores nothing."""

    permission_classes = [IsAuthenticatedReadOrContributor]
    parser_classes = [MultiPartParser, FormParser]
    throttle_scope = "uploads"

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ProjectImageImportPreviewInput"

        file = serializers.FileField(allow_empty_file=True, error_messages={"required": FILE_MISSING})

    @extend_schema(request=InputSerializer, responses=ImportPreviewSerializer)
    def post(self, request, slug):
        project = project_get(user=request.user, slug=slug)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        preview = import_preview_upload(project=project, user=request.user, upload=serializer.validated_data["file"])
        return Response(ImportPreviewSerializer(preview).data)


class ImageImportDetailApi(APIView):
    """The progress and summary of an import (its project's teacher only)."""

    permission_classes = [IsAuthenticatedReadOrContributor]

    @extend_schema(responses=ImageImportOutputSerializer)
    def get(self, request, import_id):
        return Response(ImageImportOutputSerializer(image_import_get(user=request.user, import_id=import_id)).data)
