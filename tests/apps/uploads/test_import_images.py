"""`manage.py import_images` on a generated ImageFolder."""
import pytest
from django.core.management import CommandError, call_command

from apps.projects.models import Project
from apps.uploads.models import Image
from tests.factories import image_bytes


@pytest.fixture
def image_folder(tmp_path):
    root = tmp_path / "dataset"
    for label, color in (("gato", (200, 0, 0)), ("perro", (0, 0, 200))):
        (root / label).mkdir(parents=True)
        for i in range(3):
            (root / label / f"{label}{i}.png").write_bytes(image_bytes(color=(color[0] + i, color[1], color[2] + i), fmt="PNG"))
    (root / "gato" / "broken.jpg").write_bytes(b"not an image")
    (root / "perro" / "copy.png").write_bytes((root / "perro" / "perro0.png").read_bytes())
    return root


def test_import_creates_project_and_labels(world, image_folder, capsys):
    """--create makes the project with the folder's classes; images get import labels; bad files are reported."""
    call_command("import_images", str(image_folder), "--project", "mascotas", "--create", "--user", world.teacher.username)
    project = Project.objects.get(slug="mascotas")
    assert project.classes == ["gato", "perro"]
    images = Image.objects.filter(project=project)
    assert images.count() == 6
    assert sorted(images.values_list("label", flat=True)) == ["gato"] * 3 + ["perro"] * 3
    assert set(images.values_list("label_source", flat=True)) == {"import"}
    out = capsys.readouterr().out
    assert "6 images imported" in out and "1 duplicates" in out and "1 skipped" in out and "broken.jpg" in out


def test_import_into_missing_project_without_create_fails(world, image_folder):
    """Without --create an unknown project is a clean command error."""
    with pytest.raises(CommandError):
        call_command("import_images", str(image_folder), "--project", "nope")


def test_seed_demo_is_idempotent(db, capsys):
    """seed_demo creates three users and the demo project once, printing credentials only the first time."""
    call_command("seed_demo")
    first = capsys.readouterr().out
    call_command("seed_demo")
    second = capsys.readouterr().out
    project = Project.objects.get(slug="perros-y-gatos")
    assert project.classes == ["gato", "perro"]
    assert project.memberships.count() == 3
    assert "estudiante /" in first and "estudiante /" not in second


def test_import_a_zip_with_english_folder_names(world, tmp_path, capsys):
    """The command takes a zip too, and maps cat/dog to the project's gato/perro as the import page does."""
    import zipfile

    archive = tmp_path / "pets.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("train/cat/a.jpg", image_bytes(color=(200, 1, 1)))
        zf.writestr("train/dog/b.jpg", image_bytes(color=(1, 1, 200)))
        zf.writestr("../c.jpg", image_bytes(color=(1, 200, 1)))
    call_command("import_images", str(archive), "--project", world.project.slug)
    assert sorted(Image.objects.filter(project=world.project).values_list("label", flat=True)) == ["gato", "perro"]
    out = capsys.readouterr().out
    assert "2 images imported" in out and "skipped ../c.jpg" in out


def test_folder_links_are_refused(world, tmp_path, capsys):
    """A symbolic link inside the folder is refused, not followed."""
    root = tmp_path / "dataset"
    (root / "gato").mkdir(parents=True)
    (root / "gato" / "a.jpg").write_bytes(image_bytes())
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(image_bytes(color=(5, 5, 5)))
    (root / "gato" / "link.jpg").symlink_to(secret)
    call_command("import_images", str(root), "--project", world.project.slug)
    assert Image.objects.filter(project=world.project).count() == 1
    assert "skipped gato/link.jpg" in capsys.readouterr().out
