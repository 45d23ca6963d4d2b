from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.permissions import IsAuthenticatedReadOrContributor
from apps.labeling.services import label_assign, label_undo, label_undo_latest
from apps.projects.selectors import project_get
from apps.uploads.selectors import image_get


class LabelOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    image = serializers.IntegerField(source="image_id")
    author = serializers.CharField(source="author.username")
    label = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    source = serializers.CharField()
    created_at = serializers.DateTimeField()
    counted_label = serializers.CharField(source="image.label")


class LabelCreateApi(APIView):
    """Label an image: {label, tags} → 201 with the label and the label that now counts."""

    permission_classes = [IsAuthenticatedReadOrContributor]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "LabelCreateInput"  # unique OpenAPI component name

        label = serializers.CharField(max_length=40, allow_blank=True)
        tags = serializers.ListField(child=serializers.CharField(max_length=40), required=False, default=list)

    @extend_schema(request=InputSerializer, responses={201: LabelOutputSerializer})
    def post(self, request, image_id):
        image = image_get(user=request.user, image_id=image_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        row = label_assign(image=image, author=request.user, **serializer.validated_data)
        return Response(LabelOutputSerializer(row).data, status=status.HTTP_201_CREATED)


class LabelUndoApi(APIView):
    """Undo your latest labeling act on an image (a new history row restores your previous label)."""

    permission_classes = [IsAuthenticatedReadOrContributor]

    @extend_schema(request=None, responses={201: LabelOutputSerializer, 204: None})
    def post(self, request, image_id):
        image = image_get(user=request.user, image_id=image_id)
        row = label_undo(image=image, author=request.user)
        if row is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(LabelOutputSerializer(row).data, status=status.HTTP_201_CREATED)


class ProjectLabelUndoApi(APIView):
    """Undo your latest labeling act in a project, whichever photo it was on (the page has moved on since)."""

    permission_classes = [IsAuthenticatedReadOrContributor]

    @extend_schema(request=None, responses={201: LabelOutputSerializer, 204: None})
    def post(self, request, slug):
        project = project_get(user=request.user, slug=slug)
        row = label_undo_latest(project=project, author=request.user)
        if row is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(LabelOutputSerializer(row).data, status=status.HTTP_201_CREATED)
