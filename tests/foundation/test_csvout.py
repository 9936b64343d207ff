"""The one CSV writer of every export (issue 20 #3): formula cells are neutralised, in every form."""

from __future__ import annotations

import csv
import io

import pytest

from gatehouse.kit import csvout


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", " =1+1", "  @x", "\u3000=1",
                                  "\u00a0=1", "＝1+1", "＋1", "－1", "＠x", "﹦1", "=cmd|'/c calc'!A0"])
def test_formula_cells_get_a_quote(cell: str) -> None:
    assert csvout.safe_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["Ada", "O'Neil", "a=b", "1-2", "", "WO1234567", "Zoë"])
def test_plain_cells_are_left_alone(cell: str) -> None:
    assert csvout.safe_cell(cell) == cell


def test_the_writer_escapes_every_text_cell_and_keeps_numbers() -> None:
    out = io.StringIO()
    w = csvout.Writer(out)
    w.header(["a", "b", "c"])
    w.row(["=1", 5, "ok"])
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [["a", "b", "c"], ["'=1", "5", "ok"]]
