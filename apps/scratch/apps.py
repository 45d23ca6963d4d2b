from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScratchConfig(AppConfig):
    name = "apps.scratch"
    label = "scratch"
    verbose_name = _("Scratch")

    def ready(self):
        from apps.scratch import schema  # noqa: F401  (registers the Scratch key's security scheme)
