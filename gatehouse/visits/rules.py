"""Pre-check-in (SPEC §15): the site's rules document, rendered safely (Markdown with raw HTML
escaped and unsafe links refused, by markdown-it-py), accepted by the visitor typing their full
name; the acceptance (version, typed name, time, address) is kept on the ticket and in the trail."""

from __future__ import annotations

from markdown_it import MarkdownIt
from sqlalchemy import select, update

from gatehouse.events import service as events
from gatehouse.facility_access.arrival import names_match
from gatehouse.facility_access.models import WorkOrder
from gatehouse.kit.db import Database, utcnow
from gatehouse.kit.errors import BadRequest, Conflict
from gatehouse.sites.service import current_rules

_md = MarkdownIt("commonmark", {"html": False, "linkify": False})


def rules_html(markdown: str) -> str:
    return _md.render(markdown)


async def rules_of(db: Database, site_code: str):
    async with db.read() as session:
        return await current_rules(session, site_code)


async def accept(db: Database, ticket: dict, version: int, typed_name: str, ip: str) -> None:
    """The visitor accepts this version of the rules by typing their full name as the visit names them."""
    expected = f"{ticket['contactFirstName']} {ticket['contactLastName']}"
    if not names_match(typed_name, expected):
        raise BadRequest(f"Type your full name as the visit names you ({expected}) to accept the rules.",
                         code="NAME_MISMATCH")
    site = ticket["site"][0]["site"]
    rules = await rules_of(db, site)
    if rules is None or rules.version != version:
        raise Conflict("The site's rules have changed since this page was opened: read them again.",
                       code="RULES_CHANGED")
    now = utcnow()
    async with db.write() as session:
        await session.execute(update(WorkOrder).where(WorkOrder.id == ticket["ticketId"]).values(
            rules_version=version, rules_accepted_name=typed_name.strip()[:120], rules_accepted_at=now,
            rules_accepted_ip=ip[:45]).execution_options(synchronize_session=False))
        row = (await session.execute(select(WorkOrder.account_id).where(WorkOrder.id == ticket["ticketId"]))).scalar()
        await events.record(session, "visit.pre_checked_in", object_id=ticket["ticketId"], account_id=row,
                            site_code=site, at=now, data={"rulesVersion": version})


async def accepted(db: Database, work_order_id: str) -> dict | None:
    async with db.read() as session:
        row = (await session.execute(select(WorkOrder.rules_version, WorkOrder.rules_accepted_name,
                                            WorkOrder.rules_accepted_at).where(WorkOrder.id == work_order_id))).first()
    if row is None or row[0] is None:
        return None
    return {"version": row[0], "name": row[1], "at": row[2]}
