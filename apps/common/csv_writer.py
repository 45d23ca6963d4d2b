"""The one CSV writer of the platform: text cells cannot become spreadsheet formulas.

Spreadsheets run a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and some also after a
leading tab or carriage return) as a formula, so a label or a user name such as
``=HYPERLINK("http://evil", "click")`` would turn an export into an attack on whoever opens it
(CSV injection). Such text cells get a leading single quote, which spreadsheets show as text;
numbers stay numbers, so ``-0.5`` is still a negative number.

Exports meant for people (``csv_export_response``) are also written the way the reader's spreadsheet
program opens them: UTF-8 with a byte-order mark (without it Excel reads the accents as Latin-1),
``;`` between cells where the language writes decimals with a comma (Spanish Excel and LibreOffice
split on ``;`` there), decimal commas, local time without microseconds, and yes/no in words.
Machine-read files (training manifests) keep the plain ``csv_writer``.
"""
import csv
import datetime
import io
from decimal import Decimal

from django.http import HttpResponse
from django.utils import formats, timezone
from django.utils.translation import gettext

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


def spreadsheet_cell(value, decimal_separator: str = "."):
    """Return the value as a person's spreadsheet should show it: local time, localized decimals, words."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, int):
        return value
    if isinstance(value, (float, Decimal)):
        # Six decimals at most and never an exponent: spreadsheets read "1e-07" as text.
        text = f"{value:.6f}".rstrip("0").rstrip(".")
        return text.replace(".", decimal_separator)
    if isinstance(value, datetime.datetime):
        local = timezone.localtime(value) if timezone.is_aware(value) else value
        return local.replace(microsecond=0).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return csv_cell(str(value))


def _spreadsheet_write(fh, *, header: list, rows) -> None:
    decimal_separator = formats.get_format("DECIMAL_SEPARATOR")
    fh.write("\ufeff")
    writer = csv.writer(fh, delimiter=";" if decimal_separator == "," else ",")
    writer.writerow([csv_cell(str(name)) for name in header])
    for row in rows:
        writer.writerow([spreadsheet_cell(value, decimal_separator) for value in row])


def csv_export_response(*, filename: str, header: list, rows) -> HttpResponse:
    """Return a CSV download for a spreadsheet in the active language: BOM, separator, decimals, local time."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    _spreadsheet_write(response, header=header, rows=rows)
    return response


def csv_export_text(*, header: list, rows) -> str:
    """Return the text of the same spreadsheet CSV, for a page that hands the file over itself (a data: link)."""
    out = io.StringIO()
    _spreadsheet_write(out, header=header, rows=rows)
    return out.getvalue()
