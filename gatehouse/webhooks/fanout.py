"""Events -> webhook outbox rows, in the change's transaction. The body is built now, once: `data`
is the ticket exactly as GET returns it after the change (or the comment / attachment as their
endpoints return them, plus ticketId), and every retry sends the same bytes under the same id."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.attachments.models import Attachment, Blob
from gatehouse.attachments.service import present_work_order_file
from gatehouse.comments.models import Comment
from gatehouse.comments.service import present as present_comment
from gatehouse.events.service import Planned, Recorded
from gatehouse.events.types import SECURITY
from gatehouse.facility_access.service import ticket_view
from gatehouse.kit.leanread import SessionRows
from gatehouse.kit.wire import fmt_iso_ms
from gatehouse.webhooks import repository
from gatehouse.webhooks.service import SITE_SUBSCRIBABLE, body_of
from gatehouse.worker.outbox import enqueue


def _security_data(event: Recorded) -> dict[str, Any]:
    """A security event (operators' endpoints only: it has no account) says what its event says."""
    return {"ticketId": event.object_id, "site": event.site_code, **event.data}


async def _data(session: AsyncSession, event: Recorded) -> dict[str, Any] | None:
    if event.type in SECURITY:
        return _security_data(event)
    if event.type.startswith("access_ticket."):
        found = await ticket_view(session, event.object_id)
        return None if found is None else found[0]
    if event.type == "comment.created":
        comment = await session.get(Comment, event.data.get("commentId"))
        return None if comment is None else {**present_comment(comment), "ticketId": comment.work_order_id}
    if event.type == "attachment.created" and not event.data.get("staged"):
        attachment = await session.get(Attachment, event.data.get("attachmentId"))
        blob = await session.get(Blob, attachment.blob_id) if attachment is not None else None
        if attachment is None or blob is None:
            return None
        return {**present_work_order_file(attachment, blob), "ticketId": attachment.work_order_id}
    return None


def _hears(event_types: str, event_type: str) -> bool:
    return "*" in (types := json.loads(event_types)) or event_type in types


async def on_event(session: AsyncSession, event: Recorded) -> None:
    if event.type not in SITE_SUBSCRIBABLE:  # an account's endpoints never hear SECURITY: those events have no account
        return
    endpoints = [eid for eid, types in await repository.subscribed(SessionRows(session), event.account_id,
                                                                    event.site_code) if _hears(types, event.type)]
    if not endpoints:
        return
    data = await _data(session, event)
    if data is None:
        return
    body = body_of(event.type, event.id, fmt_iso_ms(event.occurred_at), data)
    for endpoint_id in endpoints:
        await enqueue(session, repository.CHANNEL, {"type": event.type, "body": body}, target=endpoint_id,
                      event_id=event.id)


async def plan(reader, event: Recorded, known: dict) -> list[Planned]:  # type: ignore[no-untyped-def]
    """The lean write path's webhook rows: `known["view"]()` builds the ticket's wire shape with the
    same presenter GET uses, only when an endpoint hears the event."""
    view = (lambda: _security_data(event)) if event.type in SECURITY else known.get("view")
    if event.type not in SITE_SUBSCRIBABLE or view is None or not (
            event.type in SECURITY or event.type.startswith("access_ticket.")):
        return []
    memo = known.setdefault("memo", {})  # one read per create, however many tickets it makes
    key = ("webhooks", event.account_id, event.site_code)
    if key not in memo:
        memo[key] = await repository.subscribed(reader, event.account_id, event.site_code)
    endpoints = [eid for eid, types in memo[key] if _hears(types, event.type)]
    if not endpoints:
        return []
    body = body_of(event.type, event.id, fmt_iso_ms(event.occurred_at), view())
    return [Planned(repository.CHANNEL, eid, {"type": event.type, "body": body}) for eid in endpoints]
