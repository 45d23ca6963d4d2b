from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommonConfig(AppConfig):
    name = "apps.common"
    label = "common"
    verbose_name = _("Common")

    def ready(self):
        from riim_site.runtime_dirs import RuntimeFolderError, runtime_folders_create

        try:
            runtime_folders_create()
        except RuntimeFolderError as exc:
            # One line naming the folder, instead of a traceback through Django's start-up (or, in a
            # worker, a restart loop on "unable to open database file").
            raise SystemExit(f"riim: {exc}") from None
