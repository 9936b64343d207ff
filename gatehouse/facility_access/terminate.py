"""Visitor *terminate* (SPEC §13): one work order per visitor; when it is approved (or at once, if
its creator may approve or the account approves automatically), every open visitor ticket of that
visitor in the account ends on the work order's date — later days cut, tickets that would start
after it cancelled, a visitor on site flagged to the desk — and the work order completes. What a
termination does to one ticket is the lifecycle's rule (`lifecycle.termination`)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.accounts.repository import account_auto_approves
from gatehouse.auth.principal import AccountContext
from gatehouse.events import service as events
from gatehouse.facility_access import idempotency, lifecycle, repository
from gatehouse.facility_access.lifecycle import Action, Status, Termination
from gatehouse.facility_access.models import Comment, TicketEvent, WorkOrder, WorkOrderLocation
from gatehouse.facility_access.presenter import title_of
from gatehouse.facility_access.rules import TERMINATE_VISITOR, normalise_emails, refusal
from gatehouse.facility_access.schemas import TerminateVisitorsIn
from gatehouse.kit.db import Database, utcnow
from gatehouse.kit.errors import ErrorDetail
from gatehouse.kit.sitetime import earliest_today, site_today

END_MAX_DAYS = 365
CANCEL_REASON = "Request no longer needed"


def _problems(body: TerminateVisitorsIn) -> tuple[list[ErrorDetail], str]:
    problems: list[ErrorDetail] = []
    emails = normalise_emails(body.emailNotifications, "emailNotifications", problems)
    seen: set[str] = set()
    for i, v in enumerate(body.visitors):
        if v.visitorEmail.lower() in seen:
            problems.append(ErrorDetail(field=f"visitors[{i}].visitorEmail", code="DUPLICATE_VISITOR",
                                        message=f"Payload 'visitors[{i}].visitorEmail' repeats a visitor of this "
                                                "request."))
        seen.add(v.visitorEmail.lower())
    end = body.visitorBadgeEndDate
    if end is not None and end < earliest_today():
        problems.append(ErrorDetail(field="visitorBadgeEndDate", code="DATE_IN_PAST", message=(
            f"Payload 'visitorBadgeEndDate' ({end}) must not be before today; it is already past in every time zone.")))
    elif end is not None and end > earliest_today() + timedelta(days=END_MAX_DAYS + 1):
        problems.append(ErrorDetail(field="visitorBadgeEndDate", code="DATE_TOO_FAR", message=(
            f"Payload 'visitorBadgeEndDate' ({end}) must be at most {END_MAX_DAYS} days ahead.")))
    return problems, emails


async def terminate_visitors(db: Database, ctx: AccountContext, body: TerminateVisitorsIn, key: str | None) -> dict:
    problems, emails = _problems(body)
    if problems:
        raise refusal(problems)
    status = lifecycle.initial_status(requester_approves="visitor-access:approve" in ctx.permissions,
                                      auto_approve=await account_auto_approves(db.reader, ctx.account_id))
    claim = None
    if key is not None:
        key = idempotency.check_key(key)
        claim = await idempotency.claim(db, ctx.principal.app_id, key, idempotency.fingerprint(
            {"kind": TERMINATE_VISITOR.category, "body": body.model_dump(mode="json")}, ctx.account_id))
        if claim.replay is not None:
            return claim.replay
    try:
        return await _create(db, ctx, body, emails, status, claim)
    except BaseException:
        if claim is not None:
            await idempotency.release(db, claim)
        raise


async def _create(db: Database, ctx: AccountContext, body: TerminateVisitorsIn, emails: str, status: Status,
                  claim: idempotency.Claim | None) -> dict:
    ids = await repository.free_ids(db.reader, len(body.visitors))
    now = utcnow()
    async with db.write() as session:
        for i, (visitor, wo_id) in enumerate(zip(body.visitors, ids, strict=True)):
            home = await repository.visitor_home_site(session, ctx.account_id, visitor.visitorEmail)
            if home is None:
                raise refusal([ErrorDetail(field=f"visitors[{i}]", code="SITE_NOTFOUND", message=(
                    "The account has no site to file the termination at."))])
            site_code, timezone = home
            end = body.visitorBadgeEndDate or site_today(timezone, now)
            ticket = WorkOrder(
                id=wo_id, account_id=ctx.account_id, master_account_id=ctx.master_account_id, site_code=site_code,
                status=status.value, request_type=TERMINATE_VISITOR.request_type,
                ticket_category=TERMINATE_VISITOR.category, created_by_user_id=ctx.user_id,
                requester=ctx.display_name, created_app_id=ctx.principal.app_id, created_at=now, updated_at=now,
                modified_by=ctx.display_name, visitor_first_name=visitor.visitorFirstName,
                visitor_last_name=visitor.visitorLastName, visitor_email=visitor.visitorEmail,
                visitor_phone=visitor.visitorPhone or "", escorted=False, host_first_name="", host_last_name="",
                host_company="", company="", badge_start=end, badge_end=end, extended_badge=False,
                bulk_request=False, email_notifications=emails, notes=body.notes or "",
                title=f"{visitor.visitorFirstName} {visitor.visitorLastName}: all visitor access ends on "
                      f"{end.strftime('%m/%d/%Y')}", location_summary="")
            session.add(ticket)
            await lifecycle.record_created(session, ticket, actor_user_id=ctx.user_id)
            if lifecycle.carried_out_at_once(status):
                await carry_out(session, ticket, actor=ctx.display_name, actor_user_id=ctx.user_id)
        response = {"workOrder": [{"workOrderId": wo_id} for wo_id in ids]}
        if claim is not None:
            await idempotency.complete(session, claim, response)
    return response


async def carry_out(session: AsyncSession, order: WorkOrder, *, actor: str, actor_user_id: int | None) -> None:
    """The termination's effect, in the caller's transaction, then the work order completes."""
    await end_tickets(session, order, request_type=TERMINATE_VISITOR.request_type, actor=actor,
                      actor_user_id=actor_user_id)


async def end_tickets(session: AsyncSession, order: WorkOrder, *, request_type: str, actor: str,
                      actor_user_id: int | None) -> None:
    """Every open ticket of the order's person (and kind of request) ends on the order's day, by the
    lifecycle's rule; then the order completes. Shared by visitor and permanent badge terminations."""
    end = order.badge_end
    for ticket, _timezone in await repository.open_tickets_of_visitor(session, order.account_id, order.visitor_email,
                                                                      but=order.id, request_type=request_type):
        locs = await repository.ticket_locations(session, ticket.id)
        effect = lifecycle.termination(ticket, end, locs)
        if effect == Termination.CANCEL:
            await lifecycle.apply(session, ticket, Action.CANCEL, actor=actor, actor_user_id=actor_user_id,
                                  note=f"terminated by {order.id}", changes={"cancel_reason": CANCEL_REASON})
        elif effect == Termination.CUT:
            await _cut(session, ticket, locs, end, order, actor, actor_user_id)
    await lifecycle.apply(session, order, Action.CARRY_OUT, actor=actor, actor_user_id=actor_user_id)


async def _cut(session: AsyncSession, ticket: WorkOrder, locs, end: date, order: WorkOrder,
               actor: str, actor_user_id: int | None) -> None:
    now = utcnow()
    kept = []
    for loc in locs:
        what = lifecycle.cut_location(loc, end)
        if what == "drop":
            await session.execute(delete(WorkOrderLocation).where(WorkOrderLocation.id == loc.id))
            continue
        if what == "cut":
            await session.execute(update(WorkOrderLocation).where(WorkOrderLocation.id == loc.id)
                                  .values(access_end=end).execution_options(synchronize_session=False))
        kept.append(loc.location_name)
    values = {"badge_end": end, "updated_at": now, "modified_by": actor, "location_summary": ", ".join(kept)}
    if lifecycle.issues_pass(ticket) and ticket.request_type == TERMINATE_VISITOR.request_type:
        values["title"] = title_of(ticket.visitor_first_name, ticket.visitor_last_name, ticket.site_code, kept,
                                   ticket.badge_start)
    await session.execute(update(WorkOrder).where(WorkOrder.id == ticket.id).values(**values)
                          .execution_options(synchronize_session=False))
    for column, value in values.items():
        setattr(ticket, column, value)
    session.add(TicketEvent(work_order_id=ticket.id, at=now, actor=actor, actor_user_id=actor_user_id, action="edit",
                            from_status=ticket.status, to_status=ticket.status,
                            note=f"access ends on {end} (terminated by {order.id})"))
    await events.record(session, "access_ticket.updated", object_id=ticket.id, account_id=ticket.account_id,
                        site_code=ticket.site_code, at=now,
                        data={"fields": ["visitorBadgeEndDate"], "visitorBadgeEndDate": end.isoformat(),
                              "terminatedBy": order.id})
    if ticket.status == Status.IN_PROGRESS:  # the visitor is on site: the desk reads it on the ticket
        text = (f"Access terminated by {order.id}: this visitor's access ends on {end}. The visitor is checked in; "
                "the desk should see them out.")
        comment = Comment(work_order_id=ticket.id, comment=text, commented_by="system", user_id=None, created_at=now)
        session.add(comment)
        await session.flush()
        await events.record(session, "comment.created", object_id=ticket.id, account_id=ticket.account_id,
                            site_code=ticket.site_code, data={"commentId": comment.id}, at=now)
