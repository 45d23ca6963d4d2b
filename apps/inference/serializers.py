"""Response bodies of the analysis API: what a model said about an image, with the links to its pictures."""
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.inference.models import Analysis
from ml.runtime import ACTIVATIONS_FILE, AUTOENCODER_FILE


def versioned_url(name: str, image_id: int, number: int) -> str:
    """The API address of one of an image's analysis pictures by a given version."""
    return f"{reverse(name, kwargs={'image_id': image_id})}?version={number}"


class PredictionOutputSerializer(serializers.Serializer):
    label = serializers.CharField()
    probability = serializers.FloatField()


# What an ImageNet tag is: a coarse category in the reader's language, «I don't know», or a fine English name.
TAG_KINDS = ("category", "unsure", "detail")


class TagOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    score = serializers.FloatField()
    source = serializers.ChoiceField(choices=["model", "imagenet", "pixels"])
    kind = serializers.ChoiceField(
        choices=list(TAG_KINDS), required=False,
        help_text="ImageNet: a coarse category in the reader's language, «I don't know», or a fine English class name",
    )


class AnomalyOutputSerializer(serializers.Serializer):
    score = serializers.FloatField()
    threshold = serializers.FloatField()
    is_anomaly = serializers.BooleanField()
    parts = serializers.DictField(
        child=serializers.FloatField(), required=False,
        help_text="each detector's own distance / threshold (served, reference)",
    )


class ExplanationOutputSerializer(serializers.Serializer):
    """What the class-activation map shows; every key is optional (a browser prediction only has ``variant``).

    The stored explanation is answered as it was computed: these fields document it.
    """

    available = serializers.BooleanField(required=False)
    method = serializers.CharField(required=False)
    target = serializers.CharField(required=False)
    sentence = serializers.CharField(required=False)
    heatmap_size = serializers.ListField(child=serializers.IntegerField(), required=False)
    heatmap_min = serializers.FloatField(required=False)
    heatmap_max = serializers.FloatField(required=False)
    anomaly_sentence = serializers.CharField(required=False)
    variant = serializers.ChoiceField(choices=["fp32", "int8"], required=False)
    heatmap_png = serializers.CharField(required=False, help_text="base64 PNG of the map (POST /analyze/ only)")
    heatmap_url = serializers.CharField(required=False)
    cam_url = serializers.CharField(required=False)
    feature_maps_url = serializers.CharField(required=False)

    def to_representation(self, instance):
        return dict(instance)


class ComputedAnalysisOutputSerializer(serializers.Serializer):
    """An analysis computed and not stored (POST /analyze/)."""

    model_version = serializers.IntegerField()
    label = serializers.CharField()
    confidence = serializers.FloatField()
    predictions = PredictionOutputSerializer(many=True)
    tags = TagOutputSerializer(many=True)
    anomaly = AnomalyOutputSerializer(allow_null=True)
    explanation = ExplanationOutputSerializer()
    latency_ms = serializers.FloatField()
    ran_on = serializers.ChoiceField(choices=Analysis.RanOn.choices)


class AnalysisOutputSerializer(serializers.Serializer):
    """A stored analysis, with the addresses of its pictures when the version can draw them."""

    id = serializers.IntegerField()
    image = serializers.IntegerField(source="image_id")
    model_version = serializers.IntegerField(source="model_version.number")
    label = serializers.CharField()
    confidence = serializers.FloatField()
    predictions = PredictionOutputSerializer(many=True)
    tags = TagOutputSerializer(many=True)
    anomaly = serializers.SerializerMethodField()
    explanation = serializers.SerializerMethodField()
    latency_ms = serializers.FloatField()
    ran_on = serializers.ChoiceField(choices=Analysis.RanOn.choices)
    created_at = serializers.DateTimeField()
    anomaly_error_map_url = serializers.CharField(
        required=False, help_text="the autoencoder's error map (server analyses by a version that has one)"
    )

    @extend_schema_field(AnomalyOutputSerializer(allow_null=True))
    def get_anomaly(self, analysis) -> dict | None:
        return analysis.anomaly or None  # stored as {} when the version has no detector

    @extend_schema_field(ExplanationOutputSerializer)
    def get_explanation(self, analysis) -> dict:
        from apps.inference.services import anomaly_sentence, heatmap_sentence

        data = dict(analysis.explanation)
        # The sentences were stored in the language of the request that computed them: say them in the reader's.
        if "sentence" in data and data.get("target"):
            data["sentence"] = heatmap_sentence(data["target"])
        if "anomaly_sentence" in data and analysis.anomaly:
            data["anomaly_sentence"] = anomaly_sentence(bool(analysis.anomaly.get("is_anomaly")))
        number, image_id = analysis.model_version.number, analysis.image_id
        if analysis.heatmap:
            data["heatmap_url"] = versioned_url("api-image-heatmap", image_id, number)
            data["cam_url"] = versioned_url("api-image-cam", image_id, number)
        if analysis.ran_on == Analysis.RanOn.SERVER and ACTIVATIONS_FILE in analysis.model_version.files:
            data["feature_maps_url"] = versioned_url("api-image-network", image_id, number)
        return data

    def to_representation(self, analysis):
        from apps.inference.attributes import pixel_tag_name

        data = super().to_representation(analysis)
        data["tags"] = [{**tag, "name": pixel_tag_name(tag["name"])} if tag.get("source") == "pixels" else tag
                        for tag in data["tags"]]
        if analysis.ran_on == Analysis.RanOn.SERVER and AUTOENCODER_FILE in analysis.model_version.files:
            data["anomaly_error_map_url"] = versioned_url("api-image-error-map", analysis.image_id, analysis.model_version.number)
        return data
