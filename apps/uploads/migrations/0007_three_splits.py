"""Three splits: today's holdout photos become the sealed test share; a validation share is carved
from the training photos by the same hash rule new uploads follow (apps.uploads.splits).

Nothing is deleted: every photo keeps its file, labels and history, only its ``split`` changes.
The rule is copied here (not imported) so this migration keeps meaning what it meant when written.
"""
import hashlib

from django.db import migrations, models


def _position(image) -> float:
    if image.capture_session:
        digest = hashlib.sha256(f"capture-session:{image.capture_session}".encode()).hexdigest()
    else:
        digest = image.sha256
    return int(digest[:8], 16) / 0x1_0000_0000


def forwards(apps, schema_editor):
    Image = apps.get_model("uploads", "Image")
    Project = apps.get_model("projects", "Project")
    Image.objects.filter(split="holdout").update(split="test")
    for project in Project.objects.all().iterator():
        upper = project.test_fraction + project.validation_fraction
        carved = [
            image.pk
            for image in Image.objects.filter(project=project, split="train").only("pk", "sha256", "capture_session")
            if _position(image) < upper
        ]
        for start in range(0, len(carved), 500):
            Image.objects.filter(pk__in=carved[start:start + 500]).update(split="validation")


def backwards(apps, schema_editor):
    Image = apps.get_model("uploads", "Image")
    Image.objects.filter(split="validation").update(split="train")
    Image.objects.filter(split="test").update(split="holdout")


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0008_test_and_validation_fractions"),
        ("uploads", "0006_spanish_verbose_names"),
    ]

    operations = [
        migrations.AlterField(
            model_name="image",
            name="split",
            field=models.CharField(
                choices=[("train", "Training"), ("validation", "Validation"), ("test", "Test"), ("holdout", "Holdout")],
                db_index=True, default="train", max_length=10, verbose_name="split",
            ),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.AlterField(
            model_name="image",
            name="split",
            field=models.CharField(
                choices=[("train", "Training"), ("validation", "Validation"), ("test", "Test")],
                db_index=True, default="train", max_length=10, verbose_name="split",
            ),
        ),
    ]
