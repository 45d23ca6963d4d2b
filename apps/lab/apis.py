from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.exceptions import NotFoundError
from apps.lab.models import LabExperiment
from apps.lab.selectors import lab_experiment_get, lab_experiment_json
from apps.lab.services import lab_experiment_start
from apps.projects.selectors import PROJECT_NOT_FOUND, project_get, project_list


class LabExperimentStartApi(APIView):
    """Start a lab experiment on the project's active model; answer its id and where to poll it."""

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "LabExperimentStartInput"  # unique OpenAPI component name

        kind = serializers.ChoiceField(choices=LabExperiment.Kind.choices)
        params = serializers.DictField(required=False, default=dict)

    @extend_schema(request=InputSerializer, responses={201: dict})
    def post(self, request, slug):
        project = project_get(user=request.user, slug=slug)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        experiment = lab_experiment_start(
            project=project, user=request.user, kind=data.validated_data["kind"], params=data.validated_data["params"]
        )
        body = lab_experiment_json(experiment)
        body["url"] = f"/lab/api/experiments/{experiment.pk}/"
        return Response(body, status=status.HTTP_201_CREATED)


class LabExperimentDetailApi(APIView):
    """Progress and, once finished, the result of one experiment (pages poll this)."""

    @extend_schema(responses=dict)
    def get(self, request, experiment_id):
        experiment = lab_experiment_get(experiment_id=experiment_id, projects=project_list(user=request.user))
        if experiment is None:
            raise NotFoundError(PROJECT_NOT_FOUND)
        return Response(lab_experiment_json(experiment))
