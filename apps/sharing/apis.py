"""The API of the public model link: its teacher makes, reads and withdraws it."""
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.exceptions import NotFoundError
from apps.common.permissions import IsAuthenticatedReadOrContributor
from apps.projects.selectors import project_get
from apps.sharing.selectors import PROJECT_LINK_NOT_FOUND, model_link_of_project
from apps.sharing.services import model_link_create, model_link_revoke


def model_link_url(request, link) -> str:
    """Return the link's absolute address, ending in "/" as Teachable Machine's tools expect."""
    return request.build_absolute_uri(reverse("model_link_root", args=[link.token]))


class ModelLinkOutputSerializer(serializers.Serializer):
    class Meta:
        ref_name = "ModelLinkOutput"

    url = serializers.SerializerMethodField(help_text="absolute address ending in /: <url>model.json, "
                                                      "<url>metadata.json and <url>weights.bin serve the active version")
    created = serializers.DateTimeField(source="created_at", help_text="when this token was made")

    def get_url(self, obj) -> str:
        return model_link_url(self.context["request"], obj)


class ProjectModelLinkApi(APIView):
    """The project's public model link: members read it; its teacher makes it (a new POST replaces the token) or withdraws it.

    404 when the project has no link (or you are not a member); 403 when a student or grader tries to change it.
    """

    permission_classes = [IsAuthenticatedReadOrContributor]

    def _body(self, request, link) -> dict:
        return ModelLinkOutputSerializer(link, context={"request": request}).data

    @extend_schema(responses=ModelLinkOutputSerializer)
    def get(self, request, slug):
        project = project_get(user=request.user, slug=slug)
        return Response(self._body(request, model_link_of_project(project=project)))

    @extend_schema(request=None, responses={201: ModelLinkOutputSerializer})
    def post(self, request, slug):
        project = project_get(user=request.user, slug=slug)
        link = model_link_create(project=project, actor=request.user)
        return Response(self._body(request, link), status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, slug):
        project = project_get(user=request.user, slug=slug)
        if not model_link_revoke(project=project, actor=request.user):
            raise NotFoundError(PROJECT_LINK_NOT_FOUND)
        return Response(status=status.HTTP_204_NO_CONTENT)
