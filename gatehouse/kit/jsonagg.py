"""`JsonArray`: a correlated subquery's rows as one JSON array (text), in order — written once,
compiled per dialect (SQLite's json_group_array over an ordered subquery; PostgreSQL's json_agg with
its own ORDER BY), so a hot read with its child rows stays one statement on both databases."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import FromClause, Text, cast, func, literal_column, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement

Fields = Callable[[Any], Mapping[str, ColumnElement[Any]]]  # the rows' source -> {key: expression}


class JsonArray(ColumnElement[str]):
    type = Text()
    inherit_cache = False  # compiled once per dialect by kit/leanread.compiled, which keeps it

    def __init__(self, table: FromClause, fields: Fields, where: Callable[[Any], ColumnElement[bool]],
                 order_by: Callable[[Any], ColumnElement[Any]], outer: FromClause) -> None:
        # where/order_by/fields get the rows' columns; `outer` is the enclosing query's table that
        # `where` refers to (the correlation)
        self.table, self.fields, self.where, self.order_by, self.outer = table, fields, where, order_by, outer


def _pairs(fields: Mapping[str, ColumnElement[Any]]) -> list[Any]:
    out: list[Any] = []
    for key, value in fields.items():
        out += [literal_column(f"'{key}'"), value]  # keys are the code's own names, never input
    return out


@compiles(JsonArray, "sqlite")
def _sqlite(element: JsonArray, compiler: Any, **kw: Any) -> str:
    # SQLite (before 3.44) has no ORDER BY inside an aggregate: it aggregates an ordered subquery
    c = element.table.c
    rows = select(element.table).where(element.where(c)).order_by(element.order_by(c)).correlate(
        element.outer).subquery("j")
    agg = select(func.json_group_array(func.json_object(*_pairs(element.fields(rows.c))))).scalar_subquery()
    return str(compiler.process(agg, **kw))


@compiles(JsonArray, "postgresql")
def _postgresql(element: JsonArray, compiler: Any, **kw: Any) -> str:
    rows = element.table.alias("j")
    obj = func.json_build_object(*_pairs(element.fields(rows.c)))
    agg = func.coalesce(func.json_agg(aggregate_order_by(obj, element.order_by(rows.c))), literal_column("'[]'::json"))
    sub = select(cast(agg, Text)).where(element.where(rows.c)).correlate(element.outer).scalar_subquery()
    return str(compiler.process(sub, **kw))
