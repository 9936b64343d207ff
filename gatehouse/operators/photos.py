"""The visitor's photo (SPEC §14): taken by the desk (the tablet's camera, or a file), shown on the
desk's ticket and the printed badge, removed by retention with the ticket's other personal data.
Only JPEG and PNG, at most 2 MiB, the content checked against its signature."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from gatehouse.events import service as events
from gatehouse.facility_access import lifecycle
from gatehouse.facility_access.models import WorkOrder
from gatehouse.kit.db import Database, dialect_of, utcnow
from gatehouse.kit.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from gatehouse.operators.models import VisitorPhoto
from gatehouse.operators.service import Operator, _ticket

MAX_BYTES = 2 * 1024 * 1024
_KINDS = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}


def kind_of(data: bytes) -> str:
    if not data:
        raise BadRequest("The photo is empty.", code="EMPTY_PHOTO")
    if len(data) > MAX_BYTES:
        raise PayloadTooLarge(f"The photo is larger than {MAX_BYTES // 1024 // 1024} MiB.")
    for signature, media in _KINDS.items():
        if data.startswith(signature):
            return media
    raise UnsupportedMediaType("A photo is a JPEG or PNG image.", code="FILE_TYPE_NOT_ALLOWED")


async def save_photo(db: Database, op: Operator | None, ticket_id: str, data: bytes) -> None:
    """`op`: the desk, scoped to its sites; None: the visitor on their own page (the token was checked)."""
    media = kind_of(data)
    now = utcnow()
    async with db.write() as session:
        if op is not None:
            ticket, _site = await _ticket(session, op, ticket_id)
        else:
            ticket = (await session.execute(select(WorkOrder).where(WorkOrder.id == ticket_id))).scalar_one()
        lifecycle.ensure_open(ticket, "photos")
        insert = pg_insert if dialect_of(session) == "postgresql" else sqlite_insert
        values = dict(work_order_id=ticket.id, content_type=media, data=data,
                      taken_by=op.display_name[:40] if op is not None else "visitor", taken_at=now)
        await session.execute(insert(VisitorPhoto).values(**values).on_conflict_do_update(
            index_elements=["work_order_id"], set_={k: v for k, v in values.items() if k != "work_order_id"}))
        await events.record(session, "access_ticket.photo_taken", object_id=ticket.id, account_id=ticket.account_id,
                            site_code=ticket.site_code, at=now, data={"contentType": media})  # never the image


async def photo_of(db: Database, op: Operator, ticket_id: str) -> VisitorPhoto | None:
    async with db.read() as session:
        ticket, _site = await _ticket(session, op, ticket_id)  # a ticket at another site: not found
        return (await session.execute(select(VisitorPhoto).where(VisitorPhoto.work_order_id == ticket.id))
                ).scalar_one_or_none()
