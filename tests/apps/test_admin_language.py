"""The admin speaks the reader's language: its sections are the apps' translated names."""
import re

import pytest
from django.apps import apps


@pytest.mark.django_db
def test_admin_sections_are_spanish(world, client):
    """The admin index names every section in Spanish (no English app title such as "Training and model registry")."""
    client.force_login(world.staff)
    html = client.get("/admin/").content.decode()
    sections = re.findall(r"<caption>\s*<a[^>]*>([^<]+)</a>", html)
    assert {"Cuentas", "Proyectos", "Fotos", "Etiquetado", "Entrenamiento y registro de modelos"} <= set(sections)
    assert "Training and model registry" not in html


def test_every_platform_app_has_a_translatable_name():
    """Each of the platform's apps declares a verbose name that goes through gettext."""
    from django.utils.functional import Promise

    for config in apps.get_app_configs():
        if config.name.startswith("apps."):
            assert isinstance(config.verbose_name, Promise), f"{config.name} has no translatable verbose_name"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url,spanish,english",
    [
        ("/admin/projects/project/", "Creado", "Created at"),
        ("/admin/projects/membership/", "Usuario", ">User<"),
        ("/admin/accounts/user/", "Rol", ">role<"),
    ],
)
def test_admin_column_names_are_spanish(world, client, url, spanish, english):
    """The admin's list columns are named in Spanish, not after the fields' English names."""
    client.force_login(world.staff)
    html = client.get(url).content.decode()
    headers = " ".join(re.findall(r'<th scope="col"[^>]*>(.*?)</th>', html, re.S))
    assert spanish in headers and english not in headers


# Column and field names that read the same in both languages.
LANGUAGE_NEUTRAL = {"ID", "ONNX", "URL", "SHA-256", "PID"}


def _platform_admins():
    from django.contrib import admin

    found = [(model, model_admin) for model, model_admin in admin.site._registry.items()
             if model._meta.app_config.name.startswith("apps.")]
    return sorted(found, key=lambda pair: pair[0]._meta.label)


def _untranslated(names_and_labels):
    """The (name, English) pairs whose Spanish label is the English one, language-neutral words aside."""
    return [(name, english) for name, spanish, english in names_and_labels
            if spanish == english and english not in LANGUAGE_NEUTRAL]


def _labels(model, model_admin, names, form=None):
    from django.contrib.admin.utils import label_for_field
    from django.utils import translation

    def label(name, language):
        with translation.override(language):
            return str(label_for_field(name, model, model_admin=model_admin, form=form))

    return [(name, label(name, "es"), label(name, "en")) for name in names]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "model,model_admin", _platform_admins(), ids=[model._meta.label for model, _admin in _platform_admins()]
)
def test_every_admin_page_names_its_columns_and_fields_in_spanish(world, client, model, model_admin):
    """Each platform admin's changelist answers in Spanish, with its columns, filters and form fields translated."""
    from django.contrib.admin.helpers import flatten_fieldsets
    from django.test import RequestFactory
    from django.urls import reverse
    from django.utils import translation

    client.force_login(world.staff)
    opts = model._meta
    response = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    assert response.status_code == 200
    request = RequestFactory().get("/admin/")
    request.user = world.staff

    columns = _labels(model, model_admin, model_admin.get_list_display(request))
    assert not _untranslated(columns), f"{opts.label}: list columns in English"

    filters = []
    for spec in response.context_data["cl"].filter_specs:
        with translation.override("es"):
            spanish = str(spec.title)
        with translation.override("en"):
            english = str(spec.title)
        filters.append((english, spanish, english))
    assert not _untranslated(filters), f"{opts.label}: list filters in English"

    instance = model()
    form = model_admin.get_form(request, instance)
    names = set(flatten_fieldsets(model_admin.get_fieldsets(request, instance)))
    names |= set(model_admin.get_readonly_fields(request, instance))
    fields = _labels(model, model_admin, sorted(names), form=form)
    assert not _untranslated(fields), f"{opts.label}: form fields in English"


def test_every_platform_model_field_has_a_translatable_name():
    """Every field of the platform's models, and every model, carries a gettext_lazy name for the admin."""
    from django.utils.functional import Promise

    for config in apps.get_app_configs():
        if not config.name.startswith("apps."):
            continue
        for model in config.get_models():
            assert isinstance(model._meta.verbose_name, Promise), f"{model._meta.label} has no translatable name"
            assert isinstance(model._meta.verbose_name_plural, Promise), f"{model._meta.label}: plural"
            for field in model._meta.get_fields():
                if (field.auto_created and not field.concrete) or getattr(field, "primary_key", False):
                    continue
                assert isinstance(field.verbose_name, Promise), f"{model._meta.label}.{field.name} has no translatable name"
