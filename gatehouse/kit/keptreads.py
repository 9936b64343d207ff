"""Answers kept until the database changes, for a page many screens reload with nothing changed
between (the desk's roster: 500 rows, 5 ms of the event loop and 2 ms of dicts each time).

`LeanReader.mark()` says "nothing committed since": SQLite's `data_version`, PostgreSQL's WAL
insert position (other writes move it too, which only costs a read). It is read before the answer,
so an answer is never older than the mark it is kept under."""

from __future__ import annotations

import weakref
from typing import Any

from sqlalchemy import Select

from gatehouse.kit.leanread import LeanReader, read_key

KEPT_ANSWERS = 64


class Kept(list[dict[str, Any]]):
    """A kept answer. `derived` holds what a caller made of these rows (the roster's built rows and
    their fingerprint), kept as long as the answer is: a hit then costs nothing but the mark."""

    derived: dict[str, Any]

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        super().__init__(rows)
        self.derived = {}


class UntilChangeRows:
    def __init__(self, reader: LeanReader) -> None:
        self._reader = reader
        self.cache_key = reader.cache_key
        self.is_sqlite = reader.is_sqlite
        self._answers: dict[Any, tuple[Any, Kept]] = {}  # read -> (the mark read before it, rows)

    async def rows(self, stmt: Select, **params: Any) -> list[dict[str, Any]]:
        mark = await self._reader.mark()
        if mark is None:
            return await self._reader.rows(stmt, **params)
        key = read_key(stmt, params)
        kept = self._answers.get(key)
        if kept is not None and kept[0] == mark:
            return kept[1]  # callers read the rows, never change them
        # each answer with its own mark: two reads in flight on PostgreSQL may finish in any order
        found = Kept(await self._reader.rows(stmt, **params))
        if len(self._answers) >= KEPT_ANSWERS:
            self._answers.clear()
        self._answers[key] = (mark, found)
        return found

    async def get(self, model: Any, ident: Any) -> Any:
        return await self._reader.get(model, ident)


_OF: weakref.WeakKeyDictionary[LeanReader, UntilChangeRows] = weakref.WeakKeyDictionary()


def until_change(reader: LeanReader) -> UntilChangeRows:
    """The reader's one kept-answers view (one per reader, so every screen shares its answers)."""
    found = _OF.get(reader)
    if found is None:
        found = _OF[reader] = UntilChangeRows(reader)
    return found
