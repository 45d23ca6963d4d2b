from django import template

from apps.projects.access import can_contribute, can_manage
from apps.scratch.selectors import scratch_key_current, students_may_retrain

register = template.Library()


@register.inclusion_tag("scratch/_key_panel.html", takes_context=True)
def scratch_key_panel(context, project):
    """Inside the public link's panel: a student's Scratch key, and the teacher's retrain setting."""
    user = context["request"].user
    return {
        "project": project,
        "can_contribute": can_contribute(user=user, project=project),
        "can_manage": can_manage(user=user, project=project),
        "key": scratch_key_current(project=project, user=user),
        "may_retrain": students_may_retrain(project=project),
        "csrf_token": context.get("csrf_token"),
    }
