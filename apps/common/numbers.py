"""Numbers written for people in the active language: «8,5» in Spanish, «8.5» in English."""
from django.utils import formats


def number_text(value, max_decimals: int = 2) -> str:
    """Return the value rounded to at most ``max_decimals`` decimals, without trailing zeros, in the active language.

    ``floatformat:"-2"`` writes 3.5 as «3,50»; a score or a number of points reads «3,5».
    """
    if value is None:
        return ""
    rounded = round(float(value), max_decimals)
    if rounded.is_integer():
        return formats.number_format(int(rounded))
    return formats.number_format(rounded)
