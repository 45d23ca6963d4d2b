from django import forms
from django.utils.translation import gettext_lazy as _

from apps.common.forms import BootstrapFormMixin


def _split_words(value):
    return [part.strip() for part in value.replace(";", ",").replace("\n", ",").split(",") if part.strip()]


def _fraction_field(label, help_text) -> forms.FloatField:
    """A share of the photos (apps.uploads.splits), optional: left empty, the project's default applies.

    A localized text input: in Spanish "0,2" is read as 0.2 (a number input dropped the comma and sent "02").
    """
    return forms.FloatField(localize=True, widget=forms.TextInput(attrs={"inputmode": "decimal"}), label=label,
                            initial=0.15, required=False, min_value=0.05, max_value=0.3, help_text=help_text)


class ProjectCreateForm(BootstrapFormMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    slug = forms.SlugField(
        label=_("Identifier"), max_length=60, required=False, help_text=_("Used in links. Leave empty to derive it.")
    )
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    classes = forms.CharField(label=_("Classes"), help_text=_("Comma-separated, for example: gato, perro"))
    tag_vocabulary = forms.CharField(
        label=_("Tag vocabulary"), required=False, help_text=_("Optional, comma-separated, for example: interior, exterior")
    )
    test_fraction = _fraction_field(
        _("Test fraction"),
        _("Share of photos kept sealed: never trained on, never used to choose anything; they only give the score."),
    )
    validation_fraction = _fraction_field(
        _("Validation fraction"), _("Share of photos never trained on that decide which model version is served.")
    )

    def clean_classes(self):
        classes = _split_words(self.cleaned_data["classes"])
        if len(set(classes)) < 2:
            raise forms.ValidationError(_("Write at least two different classes."))
        return classes

    def clean_tag_vocabulary(self):
        return _split_words(self.cleaned_data["tag_vocabulary"])


class JoinForm(BootstrapFormMixin, forms.Form):
    join_code = forms.CharField(label=_("Join code"), max_length=12)


class JoinCodeForm(forms.Form):
    """The teacher's settings of the join code: its last valid day, and whether to replace it ("rotate")."""

    action = forms.ChoiceField(choices=[("expiry", "expiry"), ("rotate", "rotate")])
    expires_on = forms.DateField(
        label=_("Valid until"),
        required=False,
        # ISO dates: what a date input reads and sends, whatever the page's language.
        widget=forms.DateInput(
            attrs={"type": "date", "class": "form-control form-control-sm", "aria-describedby": "join-code-help"},
            format="%Y-%m-%d",
        ),
        help_text=_("The last day students can join with the code. Leave it empty to keep the code valid."),
    )


class MemberAddForm(BootstrapFormMixin, forms.Form):
    """Invite a username: the account joins only when it accepts (see project_invitation_create)."""

    username = forms.CharField(label=_("Username"), max_length=150)
    role = forms.ChoiceField(
        label=_("Role"), choices=[("grader", _("Grader")), ("student", _("Student"))], initial="grader"
    )


class StudentsCsvForm(BootstrapFormMixin, forms.Form):
    csv_file = forms.FileField(
        label=_("CSV file"), help_text=_("Columns: username, first_name, last_name, email, password (optional)")
    )
