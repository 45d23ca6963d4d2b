"""The gradebook API: the class's rows for teachers and graders, a student's own row, grading; lab answers."""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.exceptions import NotFoundError
from apps.gradebook.models import AccessLog
from apps.gradebook.selectors import gradebook_get, review_list
from apps.gradebook.services import (
    access_log_record,
    can_grade,
    grade_update,
    quiz_answer_record,
    review_create,
    review_permission_check,
)
from apps.projects.selectors import project_get
from apps.training.models import ModelVersion
from apps.training.selectors import VERSION_NOT_FOUND


class CriterionOutputSerializer(serializers.Serializer):
    class Meta:
        ref_name = "RubricCriterionOutput"

    id = serializers.IntegerField()
    name = serializers.CharField()
    points = serializers.FloatField()


class LabFiguresOutputSerializer(serializers.Serializer):
    class Meta:
        ref_name = "GradebookLabOutput"

    experiments = serializers.IntegerField()
    quiz_answered = serializers.IntegerField(help_text="questions answered in this project")
    quiz_correct = serializers.IntegerField(
        help_text="of those, questions whose first answer anywhere (any project, or the lab outside one) was right"
    )


class StudentRowOutputSerializer(serializers.Serializer):
    class Meta:
        ref_name = "GradebookStudentOutput"

    username = serializers.CharField()
    uploads = serializers.IntegerField(allow_null=True)
    labels = serializers.IntegerField(allow_null=True)
    agreement = serializers.FloatField(allow_null=True, help_text="agreement with the consensus (label quality)")
    gold_accuracy = serializers.FloatField(allow_null=True, help_text="accuracy on the teacher's gold images")
    analyses = serializers.IntegerField(help_text="analyses requested, on the server and in the browser")
    lab = LabFiguresOutputSerializer()
    scores = serializers.DictField(child=serializers.FloatField(), help_text="points per criterion id")
    total = serializers.FloatField(allow_null=True)
    comment = serializers.CharField(allow_blank=True)


class GradebookOutputSerializer(serializers.Serializer):
    class Meta:
        ref_name = "GradebookOutput"

    rubric = CriterionOutputSerializer(many=True)
    students = StudentRowOutputSerializer(many=True)


class ProjectGradebookApi(APIView):
    """The project's rubric and one row per student; a student gets only their own row. A grader's read is logged."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=GradebookOutputSerializer)
    def get(self, request, slug):
        project = project_get(user=request.user, slug=slug)
        grader = can_grade(user=request.user, project=project)
        book = gradebook_get(project=project, usernames=None if grader else [request.user.username])
        if grader:
            access_log_record(project=project, viewer=request.user, what=AccessLog.What.API)
        return Response(GradebookOutputSerializer(book).data)


class GradebookStudentUpdateApi(APIView):
    """Score a student on the rubric and write the comment they read (teachers and graders)."""

    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "GradebookStudentInput"

        scores = serializers.DictField(
            child=serializers.FloatField(allow_null=True), required=False, default=dict,
            help_text="points per criterion id; null clears a score",
        )
        comment = serializers.CharField(required=False, allow_blank=True, max_length=5000, trim_whitespace=False)

    @extend_schema(request=InputSerializer, responses=StudentRowOutputSerializer)
    def put(self, request, slug, username):
        project = project_get(user=request.user, slug=slug)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        grade_update(
            project=project,
            author=request.user,
            username=username,
            scores=serializer.validated_data["scores"],
            comment=serializer.validated_data.get("comment"),
        )
        row = gradebook_get(project=project, usernames=[username]).students[0]
        return Response(StudentRowOutputSerializer(row).data)


class QuizAnswerApi(APIView):
    """Answer a lab question: the server checks it, keeps it and returns the feedback to show."""

    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "QuizAnswerInput"

        option = serializers.IntegerField(min_value=1, max_value=10, help_text="1-based number of the chosen option")
        project = serializers.SlugField(required=False, allow_null=True, help_text="the lab's project (slug)")

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "QuizAnswerOutput"

        question = serializers.CharField()
        correct = serializers.BooleanField()
        feedback = serializers.CharField()

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request, question_id):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        slug = serializer.validated_data.get("project")
        project = project_get(user=request.user, slug=slug) if slug else None
        verdict = quiz_answer_record(
            user=request.user, question_id=question_id, option=serializer.validated_data["option"], project=project
        )
        return Response(self.OutputSerializer(verdict).data, status=201)


class ReviewOutputSerializer(serializers.Serializer):
    class Meta:
        ref_name = "ReviewOutput"

    id = serializers.IntegerField()
    author = serializers.CharField(source="author.username")
    text = serializers.CharField()
    training_run = serializers.IntegerField(source="training_run_id", allow_null=True)
    model_version = serializers.IntegerField(source="model_version.number", allow_null=True, default=None)
    created_at = serializers.DateTimeField()


class ModelVersionReviewsApi(APIView):
    """Reviews of a model version (also shown on its run's page); teachers and graders add them."""

    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ReviewInput"

        text = serializers.CharField(max_length=5000)

    def _version(self, request, version_id):
        version = ModelVersion.objects.select_related("project", "run").filter(pk=version_id).first()
        if version is None:
            raise NotFoundError(VERSION_NOT_FOUND)
        project_get(user=request.user, slug=version.project.slug)  # a 404 for those outside the project
        return version

    @extend_schema(responses=ReviewOutputSerializer(many=True))
    def get(self, request, version_id):
        version = self._version(request, version_id)
        return Response(ReviewOutputSerializer(review_list(version=version), many=True).data)

    @extend_schema(request=InputSerializer, responses={201: ReviewOutputSerializer})
    def post(self, request, version_id):
        version = self._version(request, version_id)
        review_permission_check(user=request.user, project=version.project)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        review = review_create(author=request.user, text=serializer.validated_data["text"], version=version)
        return Response(ReviewOutputSerializer(review).data, status=201)
