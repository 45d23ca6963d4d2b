from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScratchConfig(AppConfig):
    name = "apps.scratch"
    label = "scratch"
    verbose_name = _("Scratch")
