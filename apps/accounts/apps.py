from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    def ready(self):
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        from apps.accounts.lockout import on_logged_in, on_login_failed
        from apps.accounts.roles import role_groups_ensure

        user_login_failed.connect(on_login_failed, dispatch_uid="riim_login_failed")
        user_logged_in.connect(on_logged_in, dispatch_uid="riim_logged_in")

        # Permissions exist only after every app migrated, so groups are synced then.
        post_migrate.connect(lambda **kwargs: role_groups_ensure(), dispatch_uid="riim_role_groups", weak=False)
