"""A version's reported score is its sealed test share's; validation predictions and the activation
decision are recorded so versions are compared on identical photos."""
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("training", "0004_spanish_verbose_names"),
    ]

    operations = [
        migrations.RenameField(model_name="modelversion", old_name="holdout_accuracy", new_name="test_accuracy"),
        migrations.RenameField(model_name="modelversion", old_name="holdout_n", new_name="test_n"),
        migrations.AlterField(
            model_name="modelversion", name="test_accuracy",
            field=models.FloatField(blank=True, null=True, verbose_name="test accuracy"),
        ),
        migrations.AlterField(
            model_name="modelversion", name="test_n",
            field=models.PositiveIntegerField(default=0, verbose_name="test photos"),
        ),
        migrations.AddField(
            model_name="modelversion", name="validation_predictions",
            field=models.JSONField(blank=True, default=dict, verbose_name="validation predictions"),
        ),
        migrations.AddField(
            model_name="modelversion", name="activation",
            field=models.JSONField(blank=True, default=dict, verbose_name="activation decision"),
        ),
    ]
