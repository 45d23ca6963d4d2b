"""Why new projects label in the default order: the measured label efficiency, in the teacher's words.

The measurement is ``bench/label_bench.py`` on the served pipeline (``ml/data/label_efficiency.json``,
read through ``ml.active_learning.label_efficiency``); the default itself is
``ml.active_learning.DEFAULT_STRATEGY``.
"""
from django.utils.translation import gettext_lazy as _

from apps.common.numbers import number_text
from apps.labeling.queue import STRATEGY_NAMES
from ml import active_learning as al

DEFAULT_BEATS_RANDOM = _(
    "“%(name)s” is the default order. In a simulation with %(photos)s photos repeated %(seeds)s times, it reached "
    "a higher accuracy than random order with the same labels: %(gain)s points on average over the first "
    "%(labels)s labels (95 %% interval %(low)s to %(high)s; ahead in %(won)s of %(seeds)s repetitions)."
)
DEFAULT_IS_RANDOM = _(
    "Random order is the default. In a simulation with %(photos)s photos repeated %(seeds)s times, no order "
    "learned measurably faster: the best, “%(name)s”, gained %(gain)s points of accuracy on average over the "
    "first %(labels)s labels, but its 95 %% interval (%(low)s to %(high)s) includes zero."
)
DEFAULT_UNMEASURED = _("“%(name)s” is the default order.")


def _points(share: float) -> str:
    """Write a difference of accuracy in percentage points with its sign: «+0,08», «−0,15»."""
    points = round(100 * float(share), 2)  # the measured gains are tenths of a point: two decimals show them
    sign = "+" if points > 0 else "−" if points < 0 else ""
    return sign + number_text(abs(points), 2)


def labeling_default_reason() -> str:
    """Return one or two sentences saying which labeling order is the default and what measurement chose it."""
    default = al.DEFAULT_STRATEGY
    measured = al.label_efficiency()
    strategies = (measured or {}).get("strategies") or {}
    if default == al.RANDOM:
        quoted = max(strategies, key=lambda name: strategies[name]["gain"], default=None)
        template = DEFAULT_IS_RANDOM
    else:
        quoted = default if default in strategies else None
        template = DEFAULT_BEATS_RANDOM
    if quoted is None:
        return str(DEFAULT_UNMEASURED % {"name": STRATEGY_NAMES[default]})
    row = strategies[quoted]
    return str(template % {
        "name": STRATEGY_NAMES[quoted], "photos": number_text(measured["photos"]),
        "seeds": number_text(measured["seeds"]), "labels": number_text(measured["labels"][1]),
        "gain": _points(row["gain"]), "low": _points(row["ci95"][0]), "high": _points(row["ci95"][1]),
        "won": number_text(row["won"]),
    })
