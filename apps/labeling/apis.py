from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.permissions import IsAuthenticatedReadOrContributor
from apps.labeling.selectors import label_quality_for, labeling_queue_for
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


class LabelingQueueItemSerializer(serializers.Serializer):
    image = serializers.IntegerField(source="image_id")
    score = serializers.FloatField()
    reason = serializers.CharField()  # in the reader's language


class LabelQualityStudentSerializer(serializers.Serializer):
    username = serializers.CharField()
    labels = serializers.IntegerField()
    agreement = serializers.FloatField(allow_null=True)
    gold_accuracy = serializers.FloatField(allow_null=True)


class LabelQualitySuspectSerializer(serializers.Serializer):
    image = serializers.IntegerField(source="image_id")
    label = serializers.CharField()
    suggested = serializers.CharField()
    score = serializers.FloatField()


class LabelingQueueApi(APIView):
    """The next photos for you to label, in the order a strategy chooses, each with why it was chosen."""

    permission_classes = [IsAuthenticatedReadOrContributor]

    class FilterSerializer(serializers.Serializer):
        class Meta:
            ref_name = "LabelingQueueFilter"

        # Validated by the queue itself, so an unknown name gets the message that lists the valid ones.
        strategy = serializers.CharField(required=False, allow_blank=False, max_length=40)
        limit = serializers.IntegerField(required=False, default=20, min_value=1, max_value=200)

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "LabelingQueue"

        strategy = serializers.CharField()
        results = LabelingQueueItemSerializer(many=True)

    @extend_schema(parameters=[FilterSerializer], responses={200: OutputSerializer})
    def get(self, request, slug):
        project = project_get(user=request.user, slug=slug)
        params = self.FilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        strategy = params.validated_data.get("strategy") or project.labeling_strategy
        items = labeling_queue_for(project=project, user=request.user, strategy=strategy,
                                   limit=params.validated_data["limit"])
        return Response(self.OutputSerializer({"strategy": strategy, "results": items}).data)


class LabelQualityApi(APIView):
    """Agreement between labelers, each student's reliability and the labels most likely wrong."""

    permission_classes = [IsAuthenticatedReadOrContributor]

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "LabelQuality"

        alpha = serializers.FloatField(allow_null=True)
        images_with_multiple_labels = serializers.IntegerField()
        students = LabelQualityStudentSerializer(many=True)
        suspect_labels = LabelQualitySuspectSerializer(many=True, source="suspects")

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request, slug):
        project = project_get(user=request.user, slug=slug)
        quality = label_quality_for(project=project, user=request.user)
        return Response(self.OutputSerializer(quality).data)
