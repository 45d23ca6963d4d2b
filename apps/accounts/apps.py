from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"

    def ready(self):
        from apps.accounts.roles import role_groups_ensure

        # Permissions exist only after every app migrated, so groups are synced then.
        post_migrate.connect(lambda **kwargs: role_groups_ensure(), dispatch_uid="riim_role_groups", weak=False)
