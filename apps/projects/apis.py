from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.permissions import IsAuthenticatedReadOrContributor
from apps.projects.access import can_manage, project_role
from apps.projects.selectors import project_get, project_list
from apps.projects.services import backbone_choice_clean, project_backbone_update, project_create


class BackboneSerializer(serializers.Serializer):
    """The project's network: a name of the backbone registry and its input size."""

    name = serializers.CharField(max_length=40)
    image_size = serializers.IntegerField(required=False, help_text="pixels; the network's native size when omitted")


class BackboneOutputSerializer(serializers.Serializer):
    name = serializers.CharField(source="backbone")
    image_size = serializers.IntegerField(source="backbone_image_size")


class ProjectOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()
    description = serializers.CharField()
    classes = serializers.ListField(child=serializers.CharField())
    tag_vocabulary = serializers.ListField(child=serializers.CharField())
    test_fraction = serializers.FloatField()
    validation_fraction = serializers.FloatField()
    holdout_fraction = serializers.FloatField(source="test_fraction", help_text="deprecated alias of test_fraction")
    backbone = BackboneOutputSerializer(source="*")
    owner = serializers.CharField(source="owner.username")
    role = serializers.SerializerMethodField()
    join_code = serializers.SerializerMethodField(help_text="only for the project's teacher (null for others)")
    created_at = serializers.DateTimeField()

    def get_role(self, obj) -> str | None:
        return project_role(user=self.context["request"].user, project=obj)

    def get_join_code(self, obj) -> str | None:
        # Only the teacher hands the code out.
        return obj.join_code if can_manage(user=self.context["request"].user, project=obj) else None


class ProjectListCreateApi(APIView):
    """List the projects you belong to; teachers create new ones."""

    permission_classes = [IsAuthenticatedReadOrContributor]
    pagination_class = PageNumberPagination  # also tells the schema the list is paginated

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ProjectListCreateInput"  # unique OpenAPI component name

        name = serializers.CharField(max_length=120)
        slug = serializers.SlugField(max_length=60, required=False, allow_blank=True)
        description = serializers.CharField(required=False, allow_blank=True, default="")
        classes = serializers.ListField(child=serializers.CharField(max_length=40), min_length=2, max_length=50)
        tag_vocabulary = serializers.ListField(
            child=serializers.CharField(max_length=40), required=False, default=list, max_length=200
        )
        test_fraction = serializers.FloatField(required=False, min_value=0.05, max_value=0.3)
        validation_fraction = serializers.FloatField(required=False, min_value=0.05, max_value=0.3)
        holdout_fraction = serializers.FloatField(required=False, min_value=0.05, max_value=0.3,
                                                  help_text="deprecated alias of test_fraction")
        backbone = BackboneSerializer(required=False)

    @extend_schema(operation_id="projects_list", responses=ProjectOutputSerializer(many=True))
    def get(self, request):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(project_list(user=request.user), request, view=self)
        data = ProjectOutputSerializer(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)

    @extend_schema(request=InputSerializer, responses={201: ProjectOutputSerializer})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        alias = fields.pop("holdout_fraction", None)
        fields.setdefault("test_fraction", alias)
        backbone = fields.pop("backbone", None)
        if backbone is not None:
            fields["backbone"] = backbone_choice_clean(name=backbone["name"], image_size=backbone.get("image_size"))
        project = project_create(owner=request.user, **fields)
        data = ProjectOutputSerializer(project, context={"request": request}).data
        return Response(data, status=status.HTTP_201_CREATED)


class ProjectDetailApi(APIView):
    permission_classes = [IsAuthenticatedReadOrContributor]

    @extend_schema(responses=ProjectOutputSerializer)
    def get(self, request, slug):
        project = project_get(user=request.user, slug=slug)
        return Response(ProjectOutputSerializer(project, context={"request": request}).data)

    class UpdateSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ProjectUpdateInput"

        backbone = BackboneSerializer()

    @extend_schema(request=UpdateSerializer, responses=ProjectOutputSerializer)
    def patch(self, request, slug):
        """Change the project's network (its teacher): 400 naming the valid ones, 409 while a run is active."""
        project = project_get(user=request.user, slug=slug)
        serializer = self.UpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        backbone = serializer.validated_data["backbone"]
        project = project_backbone_update(project=project, actor=request.user, name=backbone["name"],
                                          image_size=backbone.get("image_size"))
        return Response(ProjectOutputSerializer(project, context={"request": request}).data)
