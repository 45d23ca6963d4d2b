"""Number fields read and show decimals the reader's way: "0,2" in Spanish is 0.2, never 2 or "02"."""
import pytest

from apps.projects.models import Project
from apps.training.forms import TrainingConfigForm


@pytest.mark.django_db
@pytest.mark.parametrize("typed,slug", [("0,2", "hojas-coma"), ("0.2", "hojas-punto")])
def test_new_project_reads_a_spanish_decimal_comma(world, client, typed, slug):
    """The test and validation fractions typed with a comma (or a dot) are stored as 0.2 and 0.1."""
    client.force_login(world.teacher)
    response = client.post(
        "/projects/new/", {"name": "Hojas", "slug": slug, "classes": "roble, pino", "test_fraction": typed,
                           "validation_fraction": typed.replace("2", "1")}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    project = Project.objects.get(slug=slug)
    assert (project.test_fraction, project.validation_fraction) == (pytest.approx(0.2), pytest.approx(0.1))


@pytest.mark.django_db
def test_new_project_form_shows_its_default_with_a_comma(world, client):
    """The form's defaults are written 0,15 in text fields with a decimal keyboard, not number inputs."""
    client.force_login(world.teacher)
    html = client.get("/projects/new/").content.decode()
    for name in ("test_fraction", "validation_fraction"):
        field = html[html.index(f'name="{name}"') - 200 : html.index(f'name="{name}"') + 200]
        assert 'value="0,15"' in field and 'inputmode="decimal"' in field and 'type="number"' not in field


def test_training_form_reads_decimal_commas():
    """Every decimal option of the training form accepts the Spanish comma."""
    from django.utils import translation

    float_fields = [name for name, field in TrainingConfigForm().fields.items() if field.__class__.__name__ == "FloatField"]
    assert float_fields
    with translation.override("es"):
        for name in float_fields:
            field = TrainingConfigForm().fields[name]
            assert field.localize and field.to_python("0,25") == pytest.approx(0.25)
