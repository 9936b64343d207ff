"""Managing endpoints (accounts and operators alike) and their deliveries."""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.events import service as events
from gatehouse.events.types import SITE_WEBHOOK, WEBHOOK
from gatehouse.kit.db import Database, utcnow
from gatehouse.kit.errors import Conflict, ErrorDetail, NotFound, ValidationFailed
from gatehouse.kit.outbound import check_url
from gatehouse.kit.wire import fmt_iso_ms
from gatehouse.webhooks import repository
from gatehouse.webhooks.models import WebhookEndpoint
from gatehouse.webhooks.repository import Owner
from gatehouse.worker.models import DeliveryAttempt, OutboxMessage
from gatehouse.worker.outbox import enqueue

SUBSCRIBABLE = WEBHOOK  # events/types.py: an account's endpoints
SITE_SUBSCRIBABLE = SITE_WEBHOOK  # a site's (operators') also hear its security events
MAX_PER_OWNER = 20
ROTATION_OVERLAP = timedelta(hours=24)


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def not_found() -> NotFound:
    return NotFound("The webhook was not found.", code="WEBHOOK_NOTFOUND")


def present(e: WebhookEndpoint, *, secret: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "webhookId": e.id, "url": e.url, "eventTypes": json.loads(e.event_types), "description": e.description,
        "enabled": e.enabled, "disabledReason": e.disabled_reason, "createdDate": fmt_iso_ms(e.created_at),
        "lastUpdatedDate": fmt_iso_ms(e.updated_at)}
    if e.site_code:
        out["site"] = e.site_code
    if secret is not None:
        out["secret"] = secret
    return out


def _check(url: str | None, event_types: list[str] | None, allow_private: bool, *, site: bool = False) -> None:
    known = SITE_SUBSCRIBABLE if site else SUBSCRIBABLE
    problems: list[ErrorDetail] = []
    if url is not None:
        reason = check_url(url, allow_private=allow_private)
        if reason:
            problems.append(ErrorDetail(field="url", code="INVALID_URL", message=f"Payload 'url' {reason}."))
    if event_types is not None:
        unknown = [t for t in event_types if t != "*" and t not in known]
        if unknown or not event_types:
            problems.append(ErrorDetail(field="eventTypes", code="INVALID_VALUE", message=(
                f"Payload 'eventTypes' must list event types from: *, {', '.join(sorted(known))}"
                + (f"; unknown: {', '.join(unknown[:5])}." if unknown else "."))))
    if problems:
        raise ValidationFailed(problems)


async def _event(session: AsyncSession, type_: str, e: WebhookEndpoint, data: dict[str, Any]) -> None:
    await events.record(session, type_, object_id=e.id, account_id=e.account_id, site_code=e.site_code,
                        data={"webhookId": e.id, **data})


async def create(db: Database, owner: Owner, *, site_code: str | None, url: str, event_types: list[str],
                 description: str, enabled: bool, created_by: str, allow_private: bool) -> dict[str, Any]:
    _check(url, event_types, allow_private, site=owner.account_id is None)
    async with db.write() as session:
        await repository.hold_owner(session, account_id=owner.account_id, site_code=site_code)
        if await repository.count(session, account_id=owner.account_id, site_code=site_code) >= MAX_PER_OWNER:
            raise Conflict(f"At most {MAX_PER_OWNER} webhooks per {'account' if owner.account_id else 'site'}.",
                           code="WEBHOOK_LIMIT")
        now = utcnow()
        secret = new_secret()
        e = WebhookEndpoint(id=str(uuid.uuid4()), account_id=owner.account_id, site_code=site_code, url=url,
                            event_types=json.dumps(sorted(set(event_types))), description=description,
                            enabled=enabled, secret=secret, created_by=created_by[:100], created_at=now, updated_at=now)
        session.add(e)
        await _event(session, "webhook.created", e, {"eventTypes": sorted(set(event_types))})
        return present(e, secret=secret)


async def read(db: Database, owner: Owner, endpoint_id: str) -> dict[str, Any]:
    async with db.read() as session:
        e = await repository.get(session, owner, endpoint_id)
    if e is None:
        raise not_found()
    return present(e)


async def listing(db: Database, owner: Owner) -> list[dict[str, Any]]:
    async with db.read() as session:
        return [present(e) for e in await repository.listing(session, owner)]


async def update(db: Database, owner: Owner, endpoint_id: str, changes: dict[str, Any], allow_private: bool
                 ) -> dict[str, Any]:
    _check(changes.get("url"), changes.get("eventTypes"), allow_private, site=owner.account_id is None)
    async with db.write() as session:
        e = await repository.get(session, owner, endpoint_id, lock=True)
        if e is None:
            raise not_found()
        if "eventTypes" in changes or changes.get("enabled"):  # it may hear more from now on
            await repository.hold_owner(session, account_id=e.account_id, site_code=e.site_code)
        if "url" in changes:
            e.url = changes["url"]
        if "eventTypes" in changes:
            e.event_types = json.dumps(sorted(set(changes["eventTypes"])))
        if "description" in changes:
            e.description = changes["description"]
        if "enabled" in changes:
            e.enabled = changes["enabled"]
            if e.enabled:  # re-enabled by its owner: a fresh start
                e.disabled_reason = None
                e.failing_since = None
        e.updated_at = utcnow()
        await _event(session, "webhook.updated", e, {"fields": sorted(changes)})
        return present(e)


async def delete(db: Database, owner: Owner, endpoint_id: str) -> None:
    async with db.write() as session:
        e = await repository.get(session, owner, endpoint_id, lock=True)
        if e is None:
            raise not_found()
        await _event(session, "webhook.deleted", e, {})
        await session.delete(e)


async def rotate(db: Database, owner: Owner, endpoint_id: str) -> dict[str, Any]:
    async with db.write() as session:
        e = await repository.get(session, owner, endpoint_id, lock=True)
        if e is None:
            raise not_found()
        now = utcnow()
        e.previous_secret, e.previous_secret_until = e.secret, now + ROTATION_OVERLAP
        e.secret = new_secret()
        e.updated_at = now
        await _event(session, "webhook.secret_rotated", e, {})
        return present(e, secret=e.secret)


def body_of(event_type: str, event_id: str, at: str, data: dict[str, Any]) -> str:
    return json.dumps({"type": event_type, "timestamp": at, "data": data}, separators=(",", ":"))


async def send_test(db: Database, owner: Owner, endpoint_id: str) -> dict[str, Any]:
    async with db.write() as session:
        e = await repository.get(session, owner, endpoint_id)
        if e is None:
            raise not_found()
        event_id = str(uuid.uuid4())
        at = fmt_iso_ms(utcnow())
        body = body_of("webhook.test", event_id, at, {"webhookId": e.id, "message": "A test event from Gatehouse."})
        m = await enqueue(session, repository.CHANNEL, {"type": "webhook.test", "body": body}, target=e.id,
                          event_id=event_id)
        await session.flush()
        return {"deliveryId": str(m.id), "eventId": event_id, "eventType": "webhook.test", "status": "pending"}


def delivery_out(attempt: DeliveryAttempt | None, m: OutboxMessage) -> dict[str, Any]:
    payload = json.loads(m.payload)
    if attempt is None:
        status = "pending"
    elif attempt.ok:
        status = "delivered"
    else:
        status = "dead" if m.status == "dead" else "failed"
    return {
        "deliveryId": str(m.id), "eventId": m.event_id, "eventType": payload.get("type", ""),
        "attemptedAt": fmt_iso_ms(attempt.attempted_at) if attempt else None,
        "durationMs": attempt.duration_ms if attempt else None,
        "responseStatus": attempt.response_status if attempt else None,
        "error": (attempt.error or None) if attempt else None,
        "responseBody": (attempt.response_body or None) if attempt else None,
        "nextAttemptAt": fmt_iso_ms(m.next_attempt_at) if m.status == "pending" else None,
        "status": status,
    }


async def deliveries(db: Database, owner: Owner, endpoint_id: str, *, cursor: str | None, size: int) -> dict[str, Any]:
    before = None
    if cursor is not None:
        if not cursor.isdigit() or len(cursor) > 18:
            raise ValidationFailed([ErrorDetail(field="cursor", code="INVALID_CURSOR",
                                                message="Query parameter 'cursor' is not a cursor this API returned.")])
        before = int(cursor)
    async with db.read() as session:
        e = await repository.get(session, owner, endpoint_id)
        if e is None:
            raise not_found()
        rows = await repository.deliveries(session, endpoint_id, before_attempt=before, size=size)
        waiting = await repository.waiting(session, endpoint_id) if cursor is None else []
    content = [delivery_out(None, m) for m in waiting] + [delivery_out(a, m) for a, m in rows]
    last = rows[-1][0] if len(rows) == size else None
    return {"content": content, "nextCursor": str(last.id) if last is not None else None}


async def redeliver(db: Database, owner: Owner, endpoint_id: str, delivery_id: str) -> dict[str, Any]:
    if not delivery_id.isdigit() or len(delivery_id) > 18:
        raise NotFound("The delivery was not found.", code="DELIVERY_NOTFOUND")
    async with db.write() as session:
        e = await repository.get(session, owner, endpoint_id)
        if e is None:
            raise not_found()
        original = await repository.delivery(session, endpoint_id, int(delivery_id))
        if original is None:
            raise NotFound("The delivery was not found.", code="DELIVERY_NOTFOUND")
        if not e.enabled:
            raise Conflict("The webhook is disabled; enable it before redelivering.", code="WEBHOOK_DISABLED")
        # the same event id and body: receivers that saw it already can drop it
        m = await enqueue(session, repository.CHANNEL, json.loads(original.payload), target=endpoint_id,
                          event_id=original.event_id)
        await session.flush()
        return delivery_out(None, m)
