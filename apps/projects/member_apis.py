"""The API of a class's members: its teacher resets a student's password."""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.projects.selectors import project_get
from apps.projects.services import member_password_reset


class MemberPasswordOutputSerializer(serializers.Serializer):
    class Meta:
        ref_name = "MemberPasswordOutput"

    username = serializers.CharField()
    password = serializers.CharField(help_text="the new password, shown this once: it is stored only as a hash")


class MemberPasswordResetApi(APIView):
    """Give a student of the class a new password (the class's teacher); the old one and the student's tokens stop working.

    403 for students and graders, and for a member who is a teacher, grader or staff anywhere; 404 for a
    username that is not a member of the class.
    """

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=MemberPasswordOutputSerializer)
    def post(self, request, slug, username):
        project = project_get(user=request.user, slug=slug)
        credentials = member_password_reset(project=project, actor=request.user, username=username)
        return Response(MemberPasswordOutputSerializer(credentials).data)
