from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "apps.training"
    label = "training"
    verbose_name = "Training and model registry"

    def ready(self):
        from apps.training import signals  # noqa: F401  (connects the automatic quick retrain)
