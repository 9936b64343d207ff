"""Security holds at the desk (SPEC §14): a `watchlist` operator clears a hold (check-in may go on)
or upholds it (the ticket is denied; the customer reads only "Denied by site security")."""

from __future__ import annotations

from typing import Any

from gatehouse.events import service as events
from gatehouse.events.types import EventType
from gatehouse.facility_access import lifecycle
from gatehouse.facility_access.lifecycle import Action
from gatehouse.kit.db import Database, utcnow
from gatehouse.operators.service import Operator, _ticket, need_role
from gatehouse.watchlist import repository as holds
from gatehouse.watchlist.service import present_hold

# the name a customer's ticket history shows for an upheld hold: the office, never the person
SECURITY_ACTOR = "Site security"


async def decide_hold(db: Database, op: Operator, ticket_id: str, decision: str, reason: str) -> dict[str, Any]:
    need_role(op, "watchlist")
    async with db.write() as session:
        ticket, _site = await _ticket(session, op, ticket_id)
        hold = await holds.hold_of(session, ticket.id, lock=True)
        lifecycle.ensure_hold_open(ticket.id, hold.status if hold else None)
        assert hold is not None  # ensure_hold_open refused otherwise
        now = utcnow()
        hold.status = lifecycle.HOLD_CLEARED if decision == "clear" else lifecycle.HOLD_UPHELD
        hold.decided_by, hold.decided_at, hold.decision_reason = op.display_name[:100], now, reason.strip()[:500]
        await events.record(session, EventType.HOLD_DECIDED, object_id=ticket.id, site_code=ticket.site_code, at=now,
                            data={"decision": hold.status, "entryId": hold.entry_id, "reason": hold.decision_reason})
        if hold.status == lifecycle.HOLD_UPHELD and lifecycle.target_of(ticket.status, Action.SECURITY_DENY):
            await lifecycle.apply(session, ticket, Action.SECURITY_DENY, actor=SECURITY_ACTOR, actor_user_id=None,
                                  note=lifecycle.SECURITY_DENIAL)
    return {"ticketId": ticket.id, "ticketStatus": ticket.status, "securityHold": present_hold(hold)}
