"""The `mail` outbox channel: render at send time from the ticket as it is now, send, classify
failures (SPEC §10: 4xx and connection problems retry after 1 min, 5 min, 30 min, 2 h, 6 h; 5xx is
dead at once)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from gatehouse.comments.models import Comment
from gatehouse.config import Settings
from gatehouse.facility_access import reads
from gatehouse.kit.db import Database
from gatehouse.notifications import render
from gatehouse.notifications.transport import open_transport
from gatehouse.worker.outbox import Channel, Delivered, Message, PermanentFailure, register

log = logging.getLogger("gatehouse.mail")
SCHEDULE = [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
            timedelta(hours=6)]


def install(settings: Settings, db: Database, schedule: list[timedelta] | None = None) -> Channel:
    transport = open_transport(settings.smtp_url, settings.data_dir)
    reading: dict[str, asyncio.Future] = {}  # ticket id -> its view, while being read

    async def ticket_view(ticket_id: str) -> tuple[dict, dict] | None:
        """The mails of one ticket claimed together (a create's recipients) share one read: a mail
        whose ticket is being read waits for that read, begun after both were claimed. The read is
        forgotten once it has answered, so a later mail reads the ticket as it is then."""
        pending = reading.get(ticket_id)
        if pending is None:
            pending = reading[ticket_id] = asyncio.ensure_future(reads.ticket_view(db.reader, ticket_id))
            pending.add_done_callback(lambda _done: reading.pop(ticket_id, None))
        return await asyncio.shield(pending)

    async def deliver(message: Message) -> Delivered:
        payload = message.payload
        if "ticketId" not in payload:
            if payload.get("kind") == "invitation":  # the link is made here: the outbox holds no credential
                payload = {**payload, "link": await _invitation_link(payload["invitationId"])}
            reply = await transport.send(_built(render.build_notice, payload, mail_from=settings.mail_from))
            return Delivered(250, str(reply)[:1024])
        found = await ticket_view(payload["ticketId"])  # one query, the API's presenter
        if found is None:
            raise PermanentFailure(f"work order {payload['ticketId']} no longer exists")
        comment = ""
        if payload.get("commentId") is not None:
            async with db.read() as session:
                row = await session.get(Comment, payload["commentId"])
                comment = row.comment if row is not None else ""
        ticket, site = found
        view = {"ticket": ticket, "comment": comment, "site": site}
        if payload["kind"] in ("visitor_pass", "visitor_cancelled", "visit_reminder"):  # their page and calendar
            view.update(await _visit(ticket, site, cancel=payload["kind"] == "visitor_cancelled"))
        mail = _built(render.build, payload, view, mail_from=settings.mail_from, public_url=settings.public_url)
        reply = await transport.send(mail)
        return Delivered(250, str(reply)[:1024])

    async def _invitation_link(invitation_id: str) -> str:
        from gatehouse.auth import client_secrets
        from gatehouse.console.people import invitation_token

        async with db.read() as session:
            key = await client_secrets.key(session)
        return f"{settings.public_url.rstrip('/')}/console/invite/{invitation_token(key, invitation_id)}"

    async def _visit(ticket: dict, site: dict, *, cancel: bool) -> dict:
        from gatehouse.auth import client_secrets
        from gatehouse.visits.calendar import visit_calendar
        from gatehouse.visits.tokens import token_for

        async with db.read() as session:
            key = await client_secrets.key(session)
        url = f"{settings.public_url.rstrip('/')}/visit/{token_for(key, ticket['ticketId'])}"
        return {"visit_url": url, "ics": visit_calendar(ticket, site, cancel=cancel, url=url),
                "ics_method": "CANCEL" if cancel else "PUBLISH"}

    def _built(builder, *args, **kwargs):
        # Building is deterministic: a mail that cannot be built now never will (a header that
        # does not parse, say). Dead at once, with the reason, rather than retried for hours.
        try:
            return builder(*args, **kwargs)
        except Exception as exc:
            log.warning("a mail cannot be built: %s: %s", type(exc).__name__, exc)
            raise PermanentFailure(f"the mail cannot be built: {type(exc).__name__}: {exc}"[:500]) from None

    channel = Channel("mail", deliver, schedule or SCHEDULE, timeout=60)
    register(channel)
    log.debug("mail goes to %s", transport.describe())
    return channel
