"""The training form's knowledge of which options a quick run reads (the rest belong to full runs)."""
from django import template

register = template.Library()


@register.simple_tag
def quick_run_fields() -> str:
    """Return, space-separated, the options a quick run uses: its mode, seed and ``ml.quick.QUICK_CONFIG_FIELDS``."""
    from ml.quick import QUICK_CONFIG_FIELDS

    return " ".join(("mode", "seed", *QUICK_CONFIG_FIELDS))
