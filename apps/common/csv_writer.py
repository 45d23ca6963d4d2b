"""The one CSV writer of the platform: text cells cannot become spreadsheet formulas.

Spreadsheets run a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and some also after a
leading tab or carriage return) as a formula, so a label or a user name such as
``=HYPERLINK("http://evil", "click")`` would turn an export into an attack on whoever opens it
(CSV injection). Such text cells get a leading single quote, which spreadsheets show as text;
numbers stay numbers, so ``-0.5`` is still a negative number.
"""
import csv
from decimal import Decimal

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """Return the value as written to a CSV cell: numbers as they are, risky text quoted."""
    if value is None or isinstance(value, (bool, int, float, Decimal)):
        return value
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_PREFIXES) else text


class SafeCsvWriter:
    """A ``csv.writer`` whose rows pass through ``csv_cell``."""

    def __init__(self, fh, **fmtparams):
        self._writer = csv.writer(fh, **fmtparams)

    def writerow(self, row):
        return self._writer.writerow([csv_cell(value) for value in row])

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)


def csv_writer(fh, **fmtparams) -> SafeCsvWriter:
    """Return a CSV writer for an export (a file, an HttpResponse, a StringIO)."""
    return SafeCsvWriter(fh, **fmtparams)
