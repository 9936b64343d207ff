"""`gatehouse ops ...`: the operator actions from the command line, through the same services."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

import typer

from gatehouse.facility_access.expiry import expire_tickets
from gatehouse.kit import context
from gatehouse.kit.cli import fail, output, run_db
from gatehouse.kit.context import Actor
from gatehouse.kit.db import Database
from gatehouse.operators import service

app = typer.Typer(rich_markup_mode=None, help="Operator actions: roster, check-in/out, complete, comment.", no_args_is_help=True)
OperatorName = Annotated[str, typer.Option("--operator", help="Display name of the operator acting")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _act(name: str, fn):
    async def run(db: Database):
        op = await service.operator_by_name(db, name)
        context.current_actor.set(Actor("operator", op.display_name, "", op.user_id))
        return await fn(db, op)
    return run_db(run)


@app.command()
def roster(operator: OperatorName, site: Annotated[str | None, typer.Option()] = None,
           status: Annotated[str | None, typer.Option()] = None,
           day: Annotated[str | None, typer.Option("--date", help="yyyy-MM-dd; default today in site time")] = None,
           page: Annotated[int, typer.Option(min=0, help="Page number, from 0")] = 0,
           size: Annotated[int, typer.Option(min=1, max=service.ROSTER_PAGE_MAX, help="Rows per page")] = 100,
           json: Json = False) -> None:
    """Tickets whose access covers the date (without --status: not cancelled or denied ones)."""
    parsed = None
    if day is not None:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", day):
            fail(f"--date must be yyyy-MM-dd, not '{day}'")
        try:
            parsed = date.fromisoformat(day)
        except ValueError:
            fail(f"--date must be a real date in yyyy-MM-dd, not '{day}'")
    found = _act(operator, lambda db, op: service.roster(db, op, site=site, status=status, day=parsed,
                                                          page=page, size=size))
    output(found, json, None if json else lambda pg: ("\n".join(
        f"{r['ticketId']}  {r['ticketStatus']:<16} {r['site']}  {r['visitorFirstName']} {r['visitorLastName']}"
        f"  ({r['company']})  badge {r['badgeNumber'] or '-'}" for r in pg["content"]) or "(no tickets)")
        + ("" if pg["pageable"]["last"] else f"\n(more: --page {page + 1})"))


@app.command()
def show(operator: OperatorName, ticket: Annotated[str, typer.Argument(help="Work order id")],
         json: Json = True) -> None:
    """The ticket as the API shows it (always JSON)."""
    output(_act(operator, lambda db, op: service.ticket_detail(db, op, ticket)), True)


@app.command("check-in")
def check_in(operator: OperatorName, ticket: Annotated[str, typer.Argument()],
             badge_number: Annotated[str, typer.Option("--badge-number")],
             document_type: Annotated[str | None, typer.Option(
                 help="passport, driving-licence, national-id or other (sites that require an identity check)")] = None,
             issuing_country: Annotated[str | None, typer.Option(help="The document's issuing country")] = None,
             number_last4: Annotated[str | None, typer.Option(help="The document number's last 4 characters only")] = None,
             document_expiry: Annotated[str | None, typer.Option(help="The document's expiry date, yyyy-MM-dd")] = None,
             name_matches: Annotated[bool | None, typer.Option(
                 "--name-matches/--name-does-not-match", help="The document's name matches the request")] = None,
             escort_present: Annotated[bool | None, typer.Option(
                 "--escort-present/--escort-absent", help="An escorted visitor's escort is here")] = None,
             escort_badge_number: Annotated[str | None, typer.Option(help="The escort's badge number")] = None,
             json: Json = False) -> None:
    """Approved -> In Progress (again each day for standard badges), recording the badge and, where
    the site requires them, the identity document and the escort (the API's check-in body)."""
    from gatehouse.facility_access.arrival import Arrival
    from gatehouse.operators.schemas import IdentityDocumentIn

    document = None
    if any((document_type, issuing_country, number_last4, document_expiry)):
        try:
            document = IdentityDocumentIn.model_validate({"type": document_type, "issuingCountry": issuing_country,
                                                          "numberLast4": number_last4,
                                                          "expiryDate": document_expiry})
        except Exception as exc:
            raise typer.BadParameter(str(exc).splitlines()[0] if str(exc) else "invalid identity document") from None
    seen = Arrival(document, name_matches, escort_present, escort_badge_number)
    output(_act(operator, lambda db, op: service.check_in(db, op, ticket, badge_number, seen)), json)


@app.command("check-out")
def check_out(operator: OperatorName, ticket: Annotated[str, typer.Argument()], json: Json = False) -> None:
    """Check out: stays In Progress before the badge end date, Completed on or after it."""
    output(_act(operator, lambda db, op: service.check_out(db, op, ticket)), json)


@app.command()
def complete(operator: OperatorName, ticket: Annotated[str, typer.Argument()], json: Json = False) -> None:
    """Complete the ticket."""
    output(_act(operator, lambda db, op: service.complete(db, op, ticket)), json)


@app.command()
def comment(operator: OperatorName, ticket: Annotated[str, typer.Argument()],
            text: Annotated[str, typer.Option("--text")], json: Json = False) -> None:
    """Add a comment as the operator."""
    output(_act(operator, lambda db, op: service.comment(db, op, ticket, text)), json)


@app.command("expire-tickets")
def expire(json: Json = False) -> None:
    """Run the end-of-badge job once (it also runs inside every `gatehouse serve`)."""
    output({"moved": run_db(expire_tickets)}, json)
