"""Say whether a model got better, in plain words, from a comparison on identical validation photos.

The wording follows the paired verdict of ``apps.training.activation.Comparison``: "better" and
"worse" only when the photos the two versions disagree on show it beyond chance; anything else is
"no measurable change", and the sentence says how many points a single photo is worth.
"""
from django.utils.translation import gettext_lazy as _

from apps.common.numbers import number_text

CHANGE_BETTER = _("Better than version %(number)s: %(ours)s of %(n)s validation photos right, against %(theirs)s, "
                  "on the same photos.")
CHANGE_WORSE = _("Worse than version %(number)s: %(ours)s of %(n)s validation photos right, against %(theirs)s, "
                 "on the same photos.")
CHANGE_SAME = _("No measurable change from version %(number)s: %(ours)s of %(n)s validation photos right, against "
                "%(theirs)s, on the same photos.")
ONE_PHOTO = _("With %(n)s validation photos, a difference of %(points)s points is a single photo.")
NO_COMPARISON = _("It could not be compared with the previous version: they have no labeled validation photo in "
                  "common yet.")
VERDICT_TEXTS = {"better": CHANGE_BETTER, "worse": CHANGE_WORSE, "same": CHANGE_SAME}


def change_sentences(validation: dict | None) -> str:
    """Return the sentences for an activation record's ``validation`` comparison (the new version against the old)."""
    if not validation or not validation.get("n"):
        return str(NO_COMPARISON)
    n = int(validation["n"])
    verdict = VERDICT_TEXTS[validation["verdict"]] % {
        "number": validation["reference_number"], "ours": validation["candidate_correct"], "n": n,
        "theirs": validation["reference_correct"]}
    return f"{verdict} {ONE_PHOTO % {'n': n, 'points': number_text(100 / n, 1)}}"
