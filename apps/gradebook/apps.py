from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GradebookConfig(AppConfig):
    name = "apps.gradebook"
    label = "gradebook"
    verbose_name = _("Gradebook")
