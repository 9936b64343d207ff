"""Staged attachments (seed 002) named in a create body: the request holds their references; the
attachments package checks and links them. Inverted on purpose (attachments builds on tickets,
not the other way round): wiring.py installs the attachments implementation here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.events.service import NewRow
from gatehouse.kit.errors import ErrorDetail
from gatehouse.kit.leanread import Rows


@dataclass(frozen=True, slots=True)
class StagedRef:
    id: str
    name: str
    field: str  # e.g. "[0].attachments[1].id", for error details


class StagedLinks(Protocol):
    async def check_staged_refs(self, session: AsyncSession, user_id: int, refs: Sequence[StagedRef]
                                ) -> list[ErrorDetail]: ...

    async def link_rows(self, rows: Rows, user_id: int, refs: Sequence[StagedRef], work_order_ids: Sequence[str],
                        created_by: str, now: datetime) -> list[NewRow]: ...


_links: StagedLinks | None = None


def install(links: StagedLinks) -> None:
    global _links
    _links = links


def links() -> StagedLinks:
    if _links is None:  # wiring.install_fanouts() runs in every process that serves or changes data
        raise RuntimeError("staged attachment links are not installed")
    return _links
