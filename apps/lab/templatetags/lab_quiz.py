"""``{% lab_question "id" %}``: one lab question from apps.lab.quizzes, without its right answer."""
from django import template

from apps.lab.quizzes import BY_ID

register = template.Library()


@register.inclusion_tag("lab/_q.html", takes_context=True)
def lab_question(context, question_id):
    """Render a question by its stable id; the page's project is where the answer is recorded."""
    project = context.get("lab_project")
    return {"q": BY_ID[question_id], "project_slug": project.slug if project else ""}
