from django.db import migrations, models

import apps.projects.models


class Migration(migrations.Migration):
    """New projects label in the measured default order (``ml.active_learning.DEFAULT_STRATEGY``).

    Existing projects keep the order they have: nothing tells a teacher's choice of the mix from the
    old default, so no stored value is changed.
    """

    dependencies = [
        ("projects", "0008_test_and_validation_fractions"),
    ]

    operations = [
        migrations.AlterField(
            model_name="project",
            name="labeling_strategy",
            field=models.CharField(default=apps.projects.models.default_labeling_strategy, max_length=20,
                                   verbose_name="labeling order"),
        ),
    ]
