"""CSV cells made safe to open in a spreadsheet: text from one user must not run as a formula in
another's (CSV formula injection, OWASP's "CSV Injection").

A cell that begins with = + - @, a tab or a carriage return is read by Excel, LibreOffice and Google
Sheets as a formula (or as one after its leading whitespace). OWASP's advice: prefix such a cell with a
single quote, which every spreadsheet shows as text, and keep the cell quoted. Numbers the platform
writes itself (ids, counts, a negative score) stay numbers: only strings are escaped.
"""

import csv
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """`value` as it may stand in a CSV cell: a string that a spreadsheet would read as a formula gets
    a leading single quote; anything else is unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeCsvWriter:
    """csv.writer whose every string cell goes through `csv_cell`, with every field quoted."""

    def __init__(self, stream, **options: Any):
        self._writer = csv.writer(stream, quoting=csv.QUOTE_ALL, **options)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([csv_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)
