"""The API of RIIM's Scratch blocks (a student's Bearer key) and of the key itself (the student's session)."""
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.exceptions import NotFoundError
from apps.common.permissions import IsAuthenticatedReadOrContributor
from apps.projects.selectors import project_get
from apps.scratch.authentication import ScratchKeyAuthentication
from apps.scratch.permissions import HasScratchKey
from apps.scratch.selectors import NO_KEY, latest_quick_run
from apps.scratch.services import scratch_example_add, scratch_key_create, scratch_key_revoke, scratch_retrain_start

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",  # a Bearer key, never a cookie: any editor may call
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Max-Age": "600",
}


class ScratchCorsMixin:
    """Editors on other origins call these endpoints with a key: answer their preflight and allow any origin."""

    def dispatch(self, request, *args, **kwargs):
        # A preflight carries no key, so it is answered before authentication.
        response = HttpResponse(status=204) if request.method == "OPTIONS" else super().dispatch(request, *args, **kwargs)
        for header, value in CORS_HEADERS.items():
            response[header] = value
        return response


class ScratchExampleOutputSerializer(serializers.Serializer):
    class Meta:
        ref_name = "ScratchExampleOutput"

    image = serializers.IntegerField(source="pk")
    label = serializers.CharField()


class ScratchExampleApi(ScratchCorsMixin, APIView):
    """Add a picture from Scratch (camera or stage) as an example of a class: uploaded and labeled as the key's student.

    401 for a missing, unknown, withdrawn or expired key; 400 for data that is not a picture or a label that
    is not a class of the key's project.
    """

    authentication_classes = [ScratchKeyAuthentication]
    permission_classes = [HasScratchKey]
    throttle_scope = "uploads"  # the student's own upload rate (apps.accounts.throttles)

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ScratchExampleInput"

        file = serializers.FileField()
        label = serializers.CharField(max_length=40)

    @extend_schema(request={"multipart/form-data": InputSerializer}, responses={201: ScratchExampleOutputSerializer})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        image = scratch_example_add(key=request.auth, raw=upload.read(), name=upload.name or "scratch.png",
                                    label=serializer.validated_data["label"])
        return Response(ScratchExampleOutputSerializer(image).data, status=status.HTTP_201_CREATED)


class ScratchRetrainOutputSerializer(serializers.Serializer):
    class Meta:
        ref_name = "ScratchRetrainOutput"

    run = serializers.IntegerField(source="pk", allow_null=True)
    status = serializers.CharField(allow_null=True, help_text="queued, running, succeeded, failed or cancelled")


class ScratchRetrainApi(ScratchCorsMixin, APIView):
    """POST: start a quick retrain of the key's project (403 unless its teacher allows it); GET: the latest quick run."""

    authentication_classes = [ScratchKeyAuthentication]
    permission_classes = [HasScratchKey]
    throttle_scope = "uploads"

    @extend_schema(responses=ScratchRetrainOutputSerializer)
    def get(self, request):
        run = latest_quick_run(project=request.auth.project)
        return Response(ScratchRetrainOutputSerializer(run or {"pk": None, "status": None}).data)

    @extend_schema(request=None, responses={202: ScratchRetrainOutputSerializer})
    def post(self, request):
        run = scratch_retrain_start(key=request.auth)
        return Response(ScratchRetrainOutputSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class ScratchKeyOutputSerializer(serializers.Serializer):
    class Meta:
        ref_name = "ScratchKeyOutput"

    key = serializers.CharField(help_text="shown this once: only its hash is kept")
    hint = serializers.CharField(source="row.hint", help_text="the key's beginning, to recognise it")
    expires = serializers.DateTimeField(source="row.expires_at")


class ProjectScratchKeyApi(APIView):
    """Your Scratch key for this project (its students and teacher): POST makes one (the old one stops), DELETE revokes it."""

    permission_classes = [IsAuthenticatedReadOrContributor]

    @extend_schema(request=None, responses={201: ScratchKeyOutputSerializer})
    def post(self, request, slug):
        project = project_get(user=request.user, slug=slug)
        issued = scratch_key_create(project=project, user=request.user)
        return Response(ScratchKeyOutputSerializer(issued).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, slug):
        project = project_get(user=request.user, slug=slug)
        if not scratch_key_revoke(project=project, user=request.user):
            raise NotFoundError(NO_KEY)
        return Response(status=status.HTTP_204_NO_CONTENT)
