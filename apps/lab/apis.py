from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.exceptions import NotFoundError
from apps.common.forms import MAX_QUERY_INTEGER
from apps.common.schema import error_responses
from apps.lab.models import LabExperiment
from apps.lab.selectors import lab_experiment_get
from apps.lab.services import lab_experiment_start
from apps.projects.selectors import PROJECT_NOT_FOUND, project_get, project_list


class LabExperimentOutputSerializer(serializers.Serializer):
    """An experiment's progress and, once it succeeded, its result."""

    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=LabExperiment.Kind.choices)
    status = serializers.ChoiceField(choices=LabExperiment.Status.choices)
    status_display = serializers.CharField(source="get_status_display")
    percent = serializers.FloatField()
    message = serializers.CharField()
    params = serializers.DictField()
    version = serializers.IntegerField(source="model_version.number", allow_null=True)
    result = serializers.SerializerMethodField()
    error = serializers.CharField(source="error_message")
    seconds = serializers.FloatField(allow_null=True)
    created_at = serializers.DateTimeField()

    def get_result(self, experiment) -> dict | None:
        """The experiment's own figures (their shape depends on ``kind``), once it succeeded."""
        return experiment.result if experiment.status == LabExperiment.Status.SUCCEEDED else None


class LabExperimentStartApi(APIView):
    """Start a lab experiment on the project's active model; answer its id and where to poll it."""

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "LabExperimentStartInput"  # unique OpenAPI component name

        class ParamsSerializer(serializers.Serializer):
            """Each experiment's optional settings, typed here so a wrong type is a 400 naming the field."""

            class Meta:
                ref_name = "LabExperimentParams"

            k = serializers.IntegerField(min_value=2, max_value=10, required=False)  # clusters
            method = serializers.ChoiceField(choices=["pca", "tsne"], required=False)  # clusters
            percent = serializers.FloatField(min_value=0, max_value=90, required=False)  # label noise
            version = serializers.IntegerField(min_value=1, max_value=MAX_QUERY_INTEGER, required=False)  # compression

            def to_internal_value(self, data):
                if isinstance(data, dict):  # the page posts its form as is: an emptied box means "the default"
                    data = {key: value for key, value in data.items() if value not in ("", None)}
                return super().to_internal_value(data)

        kind = serializers.ChoiceField(choices=LabExperiment.Kind.choices)
        params = ParamsSerializer(required=False, default=dict)

    class OutputSerializer(LabExperimentOutputSerializer):
        class Meta:
            ref_name = "LabExperimentStartOutput"

        url = serializers.SerializerMethodField()

        def get_url(self, experiment) -> str:
            """Where to poll the experiment."""
            return reverse("api-lab-experiment", kwargs={"experiment_id": experiment.pk})

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer, **error_responses(409)})
    def post(self, request, slug):
        project = project_get(user=request.user, slug=slug)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        experiment = lab_experiment_start(
            project=project, user=request.user, kind=data.validated_data["kind"], params=data.validated_data["params"]
        )
        return Response(self.OutputSerializer(experiment).data, status=status.HTTP_201_CREATED)


class LabExperimentDetailApi(APIView):
    """Progress and, once finished, the result of one experiment (pages poll this)."""

    @extend_schema(responses=LabExperimentOutputSerializer)
    def get(self, request, experiment_id):
        experiment = lab_experiment_get(experiment_id=experiment_id, projects=project_list(user=request.user))
        if experiment is None:
            raise NotFoundError(PROJECT_NOT_FOUND)
        return Response(LabExperimentOutputSerializer(experiment).data)
