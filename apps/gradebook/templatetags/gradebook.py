from django import template

from apps.common.numbers import number_text
from apps.gradebook.data_rights import retention_warning
from apps.projects.access import can_manage

register = template.Library()


@register.filter
def get_item(mapping, key):
    """Return ``mapping[str(key)]`` (scores are keyed by criterion id as a string), None when absent."""
    return (mapping or {}).get(str(key))


@register.filter
def points(value):
    """A score or a number of points as the reader writes it: «3,5», «4» (up to two decimals)."""
    return number_text(value)


@register.inclusion_tag("gradebook/_retention_banner.html", takes_context=True)
def retention_banner(context, project):
    """Warn the project's teacher, some days ahead, that the photos will be deleted."""
    user = context["request"].user
    due = retention_warning(project=project) if can_manage(user=user, project=project) else None
    return {"project": project, "due": due}


@register.inclusion_tag("gradebook/_reviews.html", takes_context=True)
def run_reviews(context, run):
    """The reviews of a training run and its version, and the form for teachers and graders."""
    from apps.gradebook.forms import ReviewForm
    from apps.gradebook.selectors import reviews_for_run
    from apps.gradebook.services import can_grade

    user = context["request"].user
    return {
        "run": run,
        "reviews": reviews_for_run(run=run),
        "can_review": can_grade(user=user, project=run.project),
        "form": ReviewForm(),
        "csrf_token": context.get("csrf_token"),
    }
