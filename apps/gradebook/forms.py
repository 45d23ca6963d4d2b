from django import forms
from django.utils.translation import gettext_lazy as _

from apps.common.forms import DecimalField
from apps.gradebook.models import CoursePolicy


class CriterionForm(forms.Form):
    name = forms.CharField(
        label=_("Criterion"), max_length=120, widget=forms.TextInput(attrs={"class": "form-control form-control-sm"})
    )
    points = DecimalField(
        label=_("Points"), min_value=0.5, max_value=1000,
        widget=forms.TextInput(attrs={"class": "form-control form-control-sm"}),
    )


class CoursePolicyForm(forms.ModelForm):
    # Bounded so the deletion day is always a real date.
    retention_days = forms.IntegerField(label=_("retention period (days)"), min_value=0, max_value=3650)
    warn_days = forms.IntegerField(label=_("warn this many days before"), min_value=0, max_value=365)

    class Meta:
        model = CoursePolicy
        fields = ["course_end", "retention_days", "warn_days"]
        # ISO dates: what a date input reads and sends, whatever the page's language.
        widgets = {"course_end": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-control form-control-sm"


class ReviewForm(forms.Form):
    text = forms.CharField(label=_("Comment"), max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))


class StudentDeleteForm(forms.Form):
    confirm = forms.CharField(label=_("Type the student's username to confirm"), max_length=150)
