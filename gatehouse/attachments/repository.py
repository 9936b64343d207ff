"""Attachment lookups: work-order files scoped to the caller's account, staged files to the
uploading user; an expired staged file is treated as gone."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.attachments.models import Attachment, Blob, StagedAttachment
from gatehouse.facility_access.models import WorkOrder
from gatehouse.kit.db import utcnow


async def list_for_ticket(session: AsyncSession, ticket_id: str) -> Sequence[Attachment]:
    return (await session.execute(
        select(Attachment).where(Attachment.work_order_id == ticket_id)
        .order_by(Attachment.created_at, Attachment.id))).scalars().all()


# One statement (the download path: at 10 MiB the ORM lookup was a third of a download's time on a
# quiet machine), run on the lean reader by the API and the console alike
WORK_ORDER_FILE = (select(Attachment.filename, Blob.storage_key, Blob.size, Blob.sha256, Blob.content_type)
                   .join(Blob, Blob.id == Attachment.blob_id).join(WorkOrder, WorkOrder.id == Attachment.work_order_id)
                   .where(Attachment.id == bindparam("attachment_id"), Attachment.work_order_id == bindparam("ticket_id"),
                          WorkOrder.account_id == bindparam("account_id"), Blob.state == bindparam("state")))


async def work_order_file(runner, account_id: str, ticket_id: str, attachment_id: str):
    """(filename, the blob's fields) of a committed file of one of the account's tickets, or None."""
    found = await runner.rows(WORK_ORDER_FILE, attachment_id=attachment_id, ticket_id=ticket_id,
                              account_id=account_id, state="committed")
    if not found:
        return None
    r = found[0]
    return r["filename"], SimpleNamespace(storage_key=r["storage_key"], size=r["size"], sha256=r["sha256"],
                                          content_type=r["content_type"])


async def staged(session: AsyncSession, user_id: int, attachment_id: str) -> tuple[StagedAttachment, Blob] | None:
    row = (await session.execute(
        select(StagedAttachment, Blob).join(Blob, Blob.id == StagedAttachment.blob_id)
        .where(StagedAttachment.id == attachment_id, StagedAttachment.user_id == user_id,
               StagedAttachment.expires_at > utcnow(), Blob.state == "committed"))).first()
    return None if row is None else (row[0], row[1])


async def blob_is_referenced(session: AsyncSession, blob_id: str) -> bool:
    used = (await session.execute(select(Attachment.id).where(Attachment.blob_id == blob_id).limit(1))).first()
    if used:
        return True
    return bool((await session.execute(
        select(StagedAttachment.id).where(StagedAttachment.blob_id == blob_id).limit(1))).first())


async def file_at_sites(session: AsyncSession, sites: Sequence[str], ticket_id: str, attachment_id: str
                        ) -> tuple[Attachment, Blob] | None:
    """An operator's view of a work order's file: scoped to the operator's sites."""
    row = (await session.execute(
        select(Attachment, Blob).join(Blob, Blob.id == Attachment.blob_id)
        .join(WorkOrder, WorkOrder.id == Attachment.work_order_id)
        .where(Attachment.id == attachment_id, Attachment.work_order_id == ticket_id,
               WorkOrder.site_code.in_(list(sites)), Blob.state == "committed"))).first()
    return None if row is None else (row[0], row[1])


async def staged_of_user(session: AsyncSession, user_id: int) -> Sequence[StagedAttachment]:
    """The user's staged files still available to link, newest first."""
    return (await session.execute(
        select(StagedAttachment).join(Blob, Blob.id == StagedAttachment.blob_id)
        .where(StagedAttachment.user_id == user_id, StagedAttachment.expires_at > utcnow(),
               Blob.state == "committed")
        .order_by(StagedAttachment.created_at.desc()).limit(50))).scalars().all()
