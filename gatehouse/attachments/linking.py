"""Linking staged attachments (seed 002) into a visitor access request (SPEC §3, §5).

Each created work order gets its own attachment record (a new 32-hex id, the staged file's
original name) pointing at the same blob, so the file outlives the staged record."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.attachments.models import Attachment, StagedAttachment
from gatehouse.facility_access.staged import StagedRef
from gatehouse.kit.db import utcnow
from gatehouse.kit.errors import ErrorDetail


async def check_staged_refs(session: AsyncSession, user_id: int, refs: Sequence[StagedRef]) -> list[ErrorDetail]:
    """Problems with the refs: unknown, another user's, expired (all look the same: not found)."""
    if not refs:
        return []
    ids = {r.id for r in refs}
    now = utcnow()
    found = set((await session.execute(
        select(StagedAttachment.id).where(
            StagedAttachment.id.in_(ids), StagedAttachment.user_id == user_id, StagedAttachment.expires_at > now)
    )).scalars())
    return [
        ErrorDetail(field=r.field, code="ATTACHMENT_NOTFOUND",
                    message=f"Payload '{r.field}' is not an attachment id of yours that is still available.")
        for r in refs if r.id not in found
    ]


async def link_staged(session: AsyncSession, user_id: int, refs: Sequence[StagedRef], work_order_ids: Sequence[str],
                      created_by: str) -> None:
    if not refs:
        return
    rows = {s.id: s for s in (await session.execute(
        select(StagedAttachment).where(StagedAttachment.id.in_({r.id for r in refs}),
                                       StagedAttachment.user_id == user_id)
    )).scalars()}
    now = utcnow()
    for wo in work_order_ids:
        for ref in refs:
            staged = rows[ref.id]
            session.add(Attachment(id=uuid.uuid4().hex, work_order_id=wo, blob_id=staged.blob_id,
                                   filename=staged.name, created_by=created_by, user_id=user_id, created_at=now))
