from django import forms
from django.utils.translation import gettext_lazy as _

from apps.common.exceptions import ApplicationError


class BootstrapFormMixin:
    """Give every widget Bootstrap's classes and ARIA links to help texts."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            widget = field.widget
            if isinstance(widget, (forms.CheckboxInput, forms.CheckboxSelectMultiple)):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs.setdefault("class", css)
            if field.help_text:
                widget.attrs.setdefault("aria-describedby", f"id_{name}_help")


# The largest id or number a query may name: beyond it SQLite cannot even compare (an overflow, not a miss).
MAX_QUERY_INTEGER = 2**31 - 1
BAD_QUERY_PARAMETER = _("The “%(name)s” parameter is not valid: %(problem)s")


def query_params_clean(form_class: type[forms.Form], data) -> dict:
    """Return a query-string form's cleaned data, or raise ApplicationError naming the bad parameter."""
    form = form_class(data)
    if not form.is_valid():
        name, errors = next(iter(form.errors.items()))
        raise ApplicationError(BAD_QUERY_PARAMETER % {"name": name, "problem": errors[0]})
    return form.cleaned_data


class DecimalField(forms.FloatField):
    """A number typed as people write it: «3,5» or «3.5» in any language, shown in the page's language.

    A number input (type="number") follows the browser's locale, not the page's: Chromium in English
    read «3,5» as 35. A text input with a decimal keyboard leaves the comma to this field.
    """

    widget = forms.TextInput

    def __init__(self, **kwargs):
        kwargs.setdefault("localize", True)
        super().__init__(**kwargs)

    def widget_attrs(self, widget):
        attrs = super().widget_attrs(widget)
        attrs.update({"inputmode": "decimal", "autocomplete": "off"})
        return attrs

    def to_python(self, value):
        if isinstance(value, str):
            value = decimal_text_normalise(value)
        return super().to_python(value)


def decimal_text_normalise(text: str) -> str:
    """Return typed number text with a decimal point: «3,5» → «3.5»; a text with both marks is left alone."""
    text = text.strip().replace(" ", "").replace("\u00a0", "")
    if "," in text and "." not in text and text.count(",") == 1:
        text = text.replace(",", ".")
    return text
