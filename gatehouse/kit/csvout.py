"""The one CSV writer for every export a person opens in a spreadsheet (visitor log, bulk results,
audit export): cells that a spreadsheet would run as a formula are written with a leading `'`
(CSV injection, OWASP). A cell is a formula when, after any leading white space, it starts with
`= + - @` or a compatibility form of one (full-width `＝`, small `﹦`, …), or when it starts with a
tab or a carriage return."""

from __future__ import annotations

import csv
import unicodedata
from typing import Any

_TRIGGERS = frozenset("=+-@")


def safe_cell(value: Any) -> Any:
    if not isinstance(value, str) or not value:
        return value
    if value[0] in "\t\r\n":
        return "'" + value
    stripped = value.lstrip()  # str.lstrip() takes every Unicode space (U+3000, U+00A0, …)
    if stripped and unicodedata.normalize("NFKC", stripped[0])[:1] in _TRIGGERS:
        return "'" + value
    return value


class Writer:
    """csv.writer whose every text cell goes through safe_cell."""

    def __init__(self, out: Any) -> None:
        self._w = csv.writer(out)

    def header(self, names: list[str]) -> None:
        self._w.writerow(names)

    def row(self, cells: list[Any]) -> None:
        self._w.writerow([safe_cell(c) for c in cells])
