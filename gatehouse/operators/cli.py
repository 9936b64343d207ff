"""`gatehouse ops ...`: the operator actions from the command line, through the same services."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from gatehouse.cli.common import fail, output, run_db
from gatehouse.facility_access.jobs import expire_tickets
from gatehouse.kit.db import Database
from gatehouse.operators import service

app = typer.Typer(help="Operator actions: roster, check-in/out, complete, comment.", no_args_is_help=True)
OperatorName = Annotated[str, typer.Option("--operator", help="Display name of the operator acting")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _act(name: str, fn):  # type: ignore[no-untyped-def]
    async def run(db: Database):  # type: ignore[no-untyped-def]
        return await fn(db, await service.operator_by_name(db, name))
    return run_db(run)


@app.command()
def roster(operator: OperatorName, site: Annotated[str | None, typer.Option()] = None,
           status: Annotated[str | None, typer.Option()] = None,
           day: Annotated[str | None, typer.Option("--date", help="yyyy-MM-dd; default today in site time")] = None,
           json: Json = False) -> None:
    """Tickets whose access covers the date."""
    try:
        parsed = date.fromisoformat(day) if day else None
    except ValueError:
        fail(f"--date must be yyyy-MM-dd, not '{day}'")
        return
    rows = _act(operator, lambda db, op: service.roster(db, op, site=site, status=status, day=parsed))
    output(rows, json, None if json else lambda rs: "\n".join(
        f"{r['ticketId']}  {r['ticketStatus']:<16} {r['site']}  {r['visitorFirstName']} {r['visitorLastName']}"
        f"  ({r['company']})  badge {r['badgeNumber'] or '-'}" for r in rs) or "(no tickets)")


@app.command()
def show(operator: OperatorName, ticket: Annotated[str, typer.Argument(help="Work order id")],
         json: Json = False) -> None:
    output(_act(operator, lambda db, op: service.ticket_detail(db, op, ticket)), json or True)


@app.command("check-in")
def check_in(operator: OperatorName, ticket: Annotated[str, typer.Argument()],
             badge_number: Annotated[str, typer.Option("--badge-number")], json: Json = False) -> None:
    if not 1 <= len(badge_number) <= 40:
        fail("--badge-number must be 1-40 characters")
    output(_act(operator, lambda db, op: service.check_in(db, op, ticket, badge_number)), json)


@app.command("check-out")
def check_out(operator: OperatorName, ticket: Annotated[str, typer.Argument()], json: Json = False) -> None:
    output(_act(operator, lambda db, op: service.check_out(db, op, ticket)), json)


@app.command()
def complete(operator: OperatorName, ticket: Annotated[str, typer.Argument()], json: Json = False) -> None:
    output(_act(operator, lambda db, op: service.complete(db, op, ticket)), json)


@app.command()
def comment(operator: OperatorName, ticket: Annotated[str, typer.Argument()],
            text: Annotated[str, typer.Option("--text")], json: Json = False) -> None:
    if not 1 <= len(text) <= 4000:
        fail("--text must be 1-4000 characters")
    output(_act(operator, lambda db, op: service.comment(db, op, ticket, text)), json)


@app.command("expire-tickets")
def expire(json: Json = False) -> None:
    """Run the end-of-badge job once (it also runs inside every `gatehouse serve`)."""
    output({"moved": run_db(expire_tickets)}, json)
