"""Every lab page renders for every role, with numbers computed from the selected project."""

import pytest

from apps.lab.views import TOPICS

pytestmark = pytest.mark.django_db
SLUGS = [slug for slug, _, _ in TOPICS]


@pytest.mark.parametrize("role", ["student", "teacher", "grader", "staff"])
def test_every_lab_page_renders_for_each_role(lab_world, client, role):
    client.force_login(getattr(lab_world, role))
    index = client.get("/lab/")
    assert index.status_code == 200
    for slug in SLUGS:
        page = client.get(f"/lab/{slug}/", {"project": lab_world.project.slug})
        assert page.status_code == 200, slug
        assert b"quiz-question" in page.content
    trained_on = sum(1 for image in lab_world.images if image.split == "train")
    assert f"<td>{trained_on}</td>".encode() in client.get("/lab/labeling/").content  # this project's learning curve
    assert b"lab-runs-data" in client.get("/lab/overfitting/").content
    assert b"lab-backprop-data" in client.get("/lab/backprop/").content


def test_pages_say_when_there_is_no_model_yet(world, client):
    client.force_login(world.student)
    page = client.get("/lab/overfitting/")
    assert page.status_code == 200
    assert "primer reentrenamiento".encode() in page.content or b"first retraining" in page.content


def test_unknown_topic_and_foreign_project_are_404(lab_world, client):
    client.force_login(lab_world.outsider)
    assert client.get("/lab/nope/").status_code == 404
    assert client.get("/lab/overfitting/", {"project": lab_world.project.slug}).status_code == 404


def test_compression_page_shows_each_variants_latency(classroom, publish, trained_model_dir, client):
    """The variants table reads the median single-image latency the engine measured for every file."""
    version = publish(trained_model_dir)
    client.force_login(classroom.student)
    page = client.get("/lab/compression/", {"project": classroom.project.slug})
    row = page.content.decode().split('<td title="onnx_fp32">')[1].split("</tr>")[0]
    measured = version.metadata["latency"]["onnx_fp32"]["p50"]
    assert f"<td>{measured:.2f}".replace(".", ",") in row


def test_the_quiz_says_only_the_first_answer_counts(world, client):
    """Retries are checked and shown, so the page tells the student the gradebook keeps only the first answer."""
    client.force_login(world.student)
    page = client.get("/lab/overfitting/").content.decode()
    assert 'id="quiz-first-try"' in page and "solo cuenta tu primera respuesta" in page


def test_the_reinforcement_comparison_names_the_best_policy_in_words(lab_world, client):
    """The agent's best policy reads «sin cambios», not its key «none», with its value the Spanish way."""
    from apps.lab.models import LabExperiment

    LabExperiment.objects.create(
        project=lab_world.project, requested_by=lab_world.student, kind=LabExperiment.Kind.BANDIT,
        status=LabExperiment.Status.SUCCEEDED, percent=100.0,
        result={"agent": {"best": "none", "values": {"none": 0.875, "flip": 0.5}}},
    )
    client.force_login(lab_world.teacher)
    page = client.get("/lab/reinforcement/", {"project": lab_world.project.slug}).content.decode()
    assert "mejor política «sin cambios» (valor 0,875)" in page and "«none»" not in page


def test_the_compression_table_names_each_variant_in_words(lab_world, client):
    """The version's variants read as words, not as the card's keys."""
    client.force_login(lab_world.teacher)
    page = client.get("/lab/compression/", {"project": lab_world.project.slug}).content.decode()
    assert "ONNX con enteros de 8 bits" in page
    assert ">onnx_int8<" not in page and 'title="onnx_int8"' in page


def test_the_latest_experiment_is_followed_at_the_address_its_panel_names(world, client):
    """A queued experiment's panel carries its API address, which the page script polls until it ends."""
    from apps.lab.models import LabExperiment

    experiment = LabExperiment.objects.create(
        project=world.project, requested_by=world.student, kind=LabExperiment.Kind.CLUSTERS,
        status=LabExperiment.Status.QUEUED,
    )
    client.force_login(world.student)
    page = client.get("/lab/unsupervised/", {"project": world.project.slug}).content.decode()
    assert f'data-kind="clusters" data-url="/lab/api/experiments/{experiment.pk}/"' in page
    assert client.get(f"/lab/api/experiments/{experiment.pk}/").json()["status"] == "queued"
