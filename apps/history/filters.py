import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from apps.inference.models import Analysis
from apps.labeling.models import Label
from apps.uploads.models import Image

# The empty choice of each select, in words (django-filter's default is a row of dashes).
ANY = _("Any")


class _DateRangeMixin(django_filters.FilterSet):
    date_from = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__gte", label=_("From"), widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__lte", label=_("To"), widget=forms.DateInput(attrs={"type": "date"})
    )


class LabelActivityFilter(_DateRangeMixin):
    project = django_filters.CharFilter(field_name="image__project__slug", label=_("Project"))
    student = django_filters.CharFilter(field_name="author__username", label=_("Student"))
    label = django_filters.CharFilter(field_name="label", label=_("Class"))
    source = django_filters.ChoiceFilter(field_name="source", choices=Label.Source.choices, label=_("Label source"),
                                       empty_label=ANY)

    class Meta:
        model = Label
        fields = []


class UploadActivityFilter(_DateRangeMixin):
    project = django_filters.CharFilter(field_name="project__slug", label=_("Project"))
    student = django_filters.CharFilter(field_name="uploader__username", label=_("Student"))
    label = django_filters.CharFilter(field_name="label", label=_("Class"))
    source = django_filters.ChoiceFilter(field_name="label_source", choices=Label.Source.choices, label=_("Label source"),
                                       empty_label=ANY)

    class Meta:
        model = Image
        fields = []


class AnalysisFilter(django_filters.FilterSet):
    """Analyses by predicted class, confidence, anomaly verdict, model version and where they ran."""

    label = django_filters.CharFilter(field_name="label", label=_("Predicted class"))
    confidence_min = django_filters.NumberFilter(field_name="confidence", lookup_expr="gte", label=_("Confidence from"))
    confidence_max = django_filters.NumberFilter(field_name="confidence", lookup_expr="lte", label=_("Confidence up to"))
    anomaly = django_filters.TypedChoiceFilter(
        field_name="is_anomaly",
        # The empty choice first, as the other selects have: without it the form shows "Unusual"
        # while nothing is filtered.
        choices=[("", ANY), ("yes", _("Unusual")), ("no", _("Usual"))],
        coerce=lambda value: value == "yes",
        label=_("Anomaly"),
    )
    version = django_filters.NumberFilter(field_name="model_version__number", label=_("Model version"))
    ran_on = django_filters.ChoiceFilter(field_name="ran_on", choices=Analysis.RanOn.choices, label=_("Ran on"),
                                         empty_label=ANY)

    class Meta:
        model = Analysis
        fields = []


class AnalysisActivityFilter(_DateRangeMixin, AnalysisFilter):
    project = django_filters.CharFilter(field_name="image__project__slug", label=_("Project"))
    # Who uploaded the photo, not who ran the analysis: the column is titled the same way.
    student = django_filters.CharFilter(field_name="image__uploader__username", label=_("Uploaded by"))

    class Meta:
        model = Analysis
        fields = []
