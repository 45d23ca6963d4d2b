from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrainingConfig(AppConfig):
    name = "apps.training"
    label = "training"
    verbose_name = _("Training and model registry")

    def ready(self):
        from apps.training import signals  # noqa: F401  (connects the automatic quick retrain)
