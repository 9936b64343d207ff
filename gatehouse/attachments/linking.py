"""Linking staged attachments (seed 002) into a visitor access request (SPEC §3, §5).

Each created work order gets its own attachment record (a new 32-hex id, the staged file's
original name) pointing at the same blob, so the file outlives the staged record."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.attachments.models import Attachment, StagedAttachment
from gatehouse.events.service import NewRow
from gatehouse.facility_access.staged import StagedRef
from gatehouse.kit.db import utcnow
from gatehouse.kit.errors import ErrorDetail, ValidationFailed
from gatehouse.kit.leanread import Rows


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


# written once; run in the create's own transaction (kit.leanread.Rows)
STAGED_OF_USER = (select(StagedAttachment.id, StagedAttachment.blob_id, StagedAttachment.name)
                  .where(StagedAttachment.id == bindparam("id"), StagedAttachment.user_id == bindparam("user_id")))


async def link_rows(rows: Rows, user_id: int, refs: Sequence[StagedRef], work_order_ids: Sequence[str],
                    created_by: str, now: datetime) -> list[NewRow]:
    """The attachment records of each new work order, read in the create's transaction: a staged
    file deleted since the check refuses the create as the check would have."""
    found: dict[str, dict] = {}
    for ref in refs:
        hit = await rows.rows(STAGED_OF_USER, id=ref.id, user_id=user_id)
        if not hit:
            raise ValidationFailed([ErrorDetail(
                field=ref.field, code="ATTACHMENT_NOTFOUND",
                message=f"Payload '{ref.field}' is not an attachment id of yours that is still available.")])
        found[ref.id] = hit[0]
    return [NewRow(Attachment.__table__, {"id": uuid.uuid4().hex, "work_order_id": wo, "blob_id": found[r.id]["blob_id"],
                                          "filename": found[r.id]["name"], "created_by": created_by,
                                          "user_id": user_id, "created_at": now})
            for wo in work_order_ids for r in refs]
