import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from apps.labeling.models import Label
from apps.uploads.models import Image


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
    source = django_filters.ChoiceFilter(field_name="source", choices=Label.Source.choices, label=_("Label source"))

    class Meta:
        model = Label
        fields = []


class UploadActivityFilter(_DateRangeMixin):
    project = django_filters.CharFilter(field_name="project__slug", label=_("Project"))
    student = django_filters.CharFilter(field_name="uploader__username", label=_("Student"))
    label = django_filters.CharFilter(field_name="label", label=_("Class"))
    source = django_filters.ChoiceFilter(field_name="label_source", choices=Label.Source.choices, label=_("Label source"))

    class Meta:
        model = Image
        fields = []
