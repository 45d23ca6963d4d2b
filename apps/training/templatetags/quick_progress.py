"""The labeling page's sentences about what the class's labels did to the quick model."""
from django import template

from apps.training.automation import quick_model_progress
from apps.training.change import change_sentences
from apps.training.selectors import version_test_text

register = template.Library()


@register.inclusion_tag("training/_quick_progress.html")
def quick_progress(project):
    """Render the latest quick version's sealed test score and whether it got better (nothing before the first)."""
    progress = quick_model_progress(project) if project is not None else None
    if progress is None:
        return {"progress": None}
    record = progress.version.activation or {}
    return {
        "progress": progress,
        "test": version_test_text(progress.version) if progress.version.test_n else "",
        "change": change_sentences(record.get("validation")) if record.get("active_before") else "",
    }
