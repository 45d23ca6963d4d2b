"""The Celery application: settings come from Django's, namespaced CELERY_."""
import os

from celery import Celery

from apps.training.workers import QueueHeartbeat
from riim_site import broker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "riim_site.settings.local")

# Before any connection: the embedded default broker URL names this transport (riim-sqla+sqlite://...).
broker.register()

app = Celery("riim")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Each worker tells the shared cache which queues it consumes, so a run nobody listens for says so.
app.steps["consumer"].add(QueueHeartbeat)
