"""The Celery application: settings come from Django's, namespaced CELERY_."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "riim_site.settings.local")

app = Celery("riim")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
