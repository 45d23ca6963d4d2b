"""The holdout fraction becomes the sealed test share's fraction; a validation share is added."""
import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0007_project_backbone"),
    ]

    operations = [
        migrations.RenameField(model_name="project", old_name="holdout_fraction", new_name="test_fraction"),
        migrations.AlterField(
            model_name="project",
            name="test_fraction",
            field=models.FloatField(
                default=0.15,
                validators=[django.core.validators.MinValueValidator(0.05), django.core.validators.MaxValueValidator(0.3)],
                verbose_name="test fraction",
            ),
        ),
        migrations.AddField(
            model_name="project",
            name="validation_fraction",
            field=models.FloatField(
                default=0.15,
                validators=[django.core.validators.MinValueValidator(0.05), django.core.validators.MaxValueValidator(0.3)],
                verbose_name="validation fraction",
            ),
        ),
    ]
