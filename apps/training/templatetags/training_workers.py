"""The run page's notice when no worker listens on the run's queue (apps.training.workers)."""
from django import template

from apps.training.workers import training_run_worker_notice

register = template.Library()


@register.simple_tag
def run_worker_notice(run):
    """Return the run's WorkerNotice, or None while a worker may still pick it up."""
    return training_run_worker_notice(run=run)
