"""Events -> webhook outbox rows, planned in the change's transaction (events.service). The body is
built now, once: `data` is the ticket exactly as GET returns it after the change (or the comment /
attachment as their endpoints return them, plus ticketId), and every retry sends the same bytes
under the same id."""

from __future__ import annotations

import json
from typing import Any

from gatehouse.attachments.models import Attachment, Blob
from gatehouse.attachments.service import present_work_order_file
from gatehouse.comments.models import Comment
from gatehouse.comments.service import present as present_comment
from gatehouse.events.service import Made, Planned, Recorded
from gatehouse.events.types import SECURITY, EventType
from gatehouse.facility_access import reads
from gatehouse.kit import ownerlock
from gatehouse.kit.leanread import Rows
from gatehouse.kit.wire import fmt_iso_ms
from gatehouse.webhooks import repository
from gatehouse.webhooks.service import SITE_SUBSCRIBABLE, body_of


async def _data(rows: Rows, event: Recorded, known: dict[str, Any]) -> dict[str, Any] | None:
    if event.type in SECURITY:  # operators' endpoints only (it has no account): what its event says
        return {"ticketId": event.object_id, "site": event.site_code, **event.data}
    if event.type.startswith("access_ticket."):
        ticket = known.get("ticket")
        if ticket is not None and ticket.id == event.object_id and "view" in known:
            return dict(known["view"]())  # the lean create's new ticket, by the same presenter as GET
        found = await reads.ticket_view(rows, event.object_id)
        return None if found is None else found[0]
    if event.type == EventType.COMMENT_CREATED:
        comment = await rows.get(Comment, event.data.get("commentId"))
        return None if comment is None else {**present_comment(comment), "ticketId": comment.work_order_id}
    if event.type == EventType.ATTACHMENT_CREATED and not event.data.get("staged"):
        attachment, blob = known.get("attachment", (None, None))
        if attachment is not None and attachment.id == event.data.get("attachmentId"):
            # the lean upload's new file (its row not in yet), by the same presenter as GET
            return {**present_work_order_file(attachment, blob), "ticketId": attachment.work_order_id}
        attachment = await rows.get(Attachment, event.data.get("attachmentId"))
        blob = await rows.get(Blob, attachment.blob_id) if attachment is not None else None
        if attachment is None or blob is None:
            return None
        return {**present_work_order_file(attachment, blob), "ticketId": attachment.work_order_id}
    return None


def _hears(event_types: str, event_type: str) -> bool:
    return "*" in (types := json.loads(event_types)) or event_type in types


def ahead(event: Recorded, known: dict[str, Any]) -> list[tuple[Any, dict[str, Any]]]:
    """The read `plan` will make (events.read_ahead): who subscribes, once the change holds the
    owners' locks (the create takes them with its BEGIN); before that, no read may be made ahead."""
    memo = known.get("memo", {})
    if (event.type not in SITE_SUBSCRIBABLE or ("webhooks", event.account_id, event.site_code) in memo
            or ownerlock.held_key(event.account_id, event.site_code) not in memo):
        return []
    return [(repository.SUBSCRIBED, {"account_id": event.account_id, "site_code": event.site_code})]


async def plan(rows: Rows, event: Recorded, known: dict[str, Any]) -> list[Made]:
    if event.type not in SITE_SUBSCRIBABLE:  # an account's endpoints never hear SECURITY: those events have no account
        return []
    memo = known.setdefault("memo", {})  # one read per create, however many tickets it makes
    key = ("webhooks", event.account_id, event.site_code)
    if event.account_id and known.get("sites") and ownerlock.held_key(event.account_id, event.site_code) not in memo:
        # a create of several sites: their holds in one statement, before the first read
        await repository.hold_owners(rows, event.account_id, known["sites"], memo)
    if key not in memo:
        memo[key] = await repository.subscribed(rows, event.account_id, event.site_code, memo)
    endpoints = [eid for eid, types in memo[key] if _hears(types, event.type)]
    if not endpoints:
        return []
    data = await _data(rows, event, known)
    if data is None:
        return []
    body = body_of(event.type, event.id, fmt_iso_ms(event.occurred_at), data)
    return [Planned(repository.CHANNEL, eid, {"type": event.type, "body": body}) for eid in endpoints]
