from django.db import migrations, models

import apps.projects.models


class Migration(migrations.Migration):
    """Existing projects keep the network they were built on (MobileNet 0.25 at 224 px); new ones get the default."""

    dependencies = [
        ("projects", "0006_join_code_expiry"),
    ]

    operations = [
        migrations.AddField(
            model_name="project",
            name="backbone",
            field=models.CharField(default="mobilenet", max_length=40, verbose_name="network"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="project",
            name="backbone_image_size",
            field=models.PositiveSmallIntegerField(default=224, verbose_name="network input size"),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="project",
            name="backbone",
            field=models.CharField(default=apps.projects.models.default_backbone, max_length=40,
                                   verbose_name="network"),
        ),
        migrations.AlterField(
            model_name="project",
            name="backbone_image_size",
            field=models.PositiveSmallIntegerField(default=apps.projects.models.default_backbone_image_size,
                                                   verbose_name="network input size"),
        ),
    ]
