from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import User


@admin.register(User)
class RiimUserAdmin(UserAdmin):
    list_display = ("username", "first_name", "last_name", "email", "role_display", "is_staff")
    list_filter = ("groups", "is_staff", "is_active")

    @admin.display(description=_("role"))
    def role_display(self, obj):
        return obj.role
