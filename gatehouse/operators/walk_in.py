"""Walk-ins and group check-in at the desk (SPEC §14, §17).

A walk-in is a visitor request the guard makes on the customer's behalf: the operator is its
requester and actor, it is `Pending Approval` unless the account approves automatically (a guard
never approves), the customer's approvers are mailed at once by the create's own fan-out, and the
desk sees the decision on the ticket. The create's rules, events and mails are the API's."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from gatehouse.accounts.models import Account
from gatehouse.auth.principal import AccountContext, Membership, Principal
from gatehouse.facility_access import service as access
from gatehouse.facility_access.schemas import AccessRequestIn
from gatehouse.kit.db import Database
from gatehouse.kit.errors import ErrorDetail, NotFound, ValidationFailed
from gatehouse.operators.service import Operator

# the guard requests, never approves: initial status is the account's auto-approve or pending
WALK_IN_PERMISSIONS = frozenset({"visitor-access:request"})


def _not_found() -> NotFound:
    return NotFound("Resource not found.", code="ACCOUNT_NOTFOUND", details=[ErrorDetail(
        field="accountId", code="ACCOUNT_NOTFOUND",
        message="Payload 'accountId' is not a customer granted the walk-in's site.")])


async def create_walk_in(db: Database, op: Operator, account_id: str, request: AccessRequestIn,
                         key: str | None = None) -> dict:
    sites = [s.site for s in request.sites]
    if len(sites) != 1:
        raise ValidationFailed([ErrorDetail(field="sites", code="ONE_SITE", message=(
            "Payload 'sites' must name exactly one site: a walk-in is at the desk's own site."))])
    if sites[0] not in op.sites:
        raise NotFound("Resource not found.", code="SITE_NOTFOUND", details=[ErrorDetail(
            field="sites[0].site", code="SITE_NOTFOUND", message=f"Payload 'sites[0].site' ('{sites[0]}') is not "
                                                                 "one of your sites.")])
    async with db.read() as session:
        account = (await session.execute(select(Account).where(Account.id == account_id))).scalar_one_or_none()
    if account is None:
        raise _not_found()
    principal = Principal(op.user_id, "operator", op.display_name, account.master_account_id, 0, datetime.max,
                          {account.id: Membership(account.id, account.master_account_id, WALK_IN_PERMISSIONS)})
    ctx = AccountContext(principal, account.master_account_id, account.id, WALK_IN_PERMISSIONS)
    try:
        parsed = await access.parse_requests(db, ctx, [request.model_dump(mode="json", exclude_none=True)])
        response, _replayed = await access.create_with_key(db, ctx, parsed, key, -op.user_id)
    except (NotFound, ValidationFailed) as exc:
        if any(d.code == "SITE_NOTFOUND" for d in exc.details):
            raise _not_found() from None  # the site is the guard's, but not granted to this customer
        raise
    return response


async def check_in_group(db: Database, op: Operator, items: list[tuple[str, str, Any]]) -> list[dict]:
    """Several expected visitors checked in together, each with a badge number: all or none (one
    transaction), every refusal named by its place in the list."""
    from gatehouse.kit.errors import Conflict, GatehouseError
    from gatehouse.operators import service

    problems: list[ErrorDetail] = []
    for i, (_ticket, badge, _seen) in enumerate(items):
        try:
            service.check_badge_number(badge)
        except GatehouseError as exc:
            problems.append(ErrorDetail(field=f"[{i}].badgeNumber", code=exc.code, message=exc.message))
    if problems:
        raise ValidationFailed(problems)
    await service.screen_before_check_in(db, op, [ticket_id for ticket_id, _, _ in items])
    done = []
    async with db.write() as session:
        for i, (ticket_id, badge, seen) in enumerate(items):
            try:
                done.append(await service.check_in_in(session, db, op, ticket_id, badge, seen))
            except ValidationFailed as exc:  # what the site requires was not given: named in its place
                raise ValidationFailed([ErrorDetail(field=f"[{i}].{d.field}", code=d.code,
                                                    message=d.message.replace("'", f"'[{i}].", 1))
                                        for d in exc.details]) from None
            except GatehouseError as exc:
                detail = ErrorDetail(field=f"[{i}].ticketId", code=exc.code, message=f"{ticket_id}: {exc.message}")
                if isinstance(exc, NotFound):
                    raise NotFound(exc.message, code=exc.code, details=[detail]) from None
                raise Conflict(f"Nothing was checked in: {detail.message}", code=exc.code, details=[detail]) from None
    return done
