"""Admin list columns in the reader's language for fields whose models carry no translated name."""
from django.contrib import admin
from django.utils.translation import gettext_lazy as _


@admin.display(description=_("created"), ordering="created_at")
def created(obj):
    return obj.created_at


@admin.display(description=_("project"), ordering="project__name")
def project(obj):
    return obj.project


@admin.display(description=_("user"), ordering="user__username")
def user(obj):
    return obj.user


@admin.display(description=_("invited by"), ordering="invited_by__username")
def invited_by(obj):
    return obj.invited_by
