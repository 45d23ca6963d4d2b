"""The labeling page's sentence about what the class's labels did to the quick model."""
from django import template

from apps.training.automation import quick_model_progress

register = template.Library()


@register.inclusion_tag("training/_quick_progress.html")
def quick_progress(project):
    """Render the latest quick version's holdout score against the previous one's (nothing without one)."""
    progress = quick_model_progress(project) if project is not None else None
    if progress is None:
        return {"progress": None}
    return {
        "progress": progress,
        "before": None if progress.before is None else round(100 * progress.before),
        "after": round(100 * progress.after),
    }
