"""`gatehouse admin audit export`: any range of the trail, streamed as JSON lines or CSV in
constant memory (keyset batches), for auditors."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from gatehouse.audit.service import parse_instant
from gatehouse.events import repository
from gatehouse.events.service import present
from gatehouse.kit import csvout
from gatehouse.kit.cli import fail, run_db
from gatehouse.kit.db import Database
from gatehouse.kit.errors import GatehouseError

app = typer.Typer(rich_markup_mode=None, help="The audit trail (SPEC §9).", no_args_is_help=True)

CSV_COLUMNS = ["id", "type", "occurredAt", "actorKind", "actorName", "actorClientId", "accountId", "siteCode",
               "objectId", "data", "correlationId", "ip"]


@app.command("export")
def export(
    since: Annotated[str | None, typer.Option(help="ISO 8601 date or date-time, inclusive")] = None,
    until: Annotated[str | None, typer.Option(help="ISO 8601 date or date-time, exclusive")] = None,
    account: Annotated[str | None, typer.Option(help="Only this account's events")] = None,
    site: Annotated[str | None, typer.Option(help="Only this site's events")] = None,
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv")] = "jsonl",
    output: Annotated[str, typer.Option("--output", help="File to write; - for standard output")] = "-",
) -> None:
    """Stream events, oldest first."""
    if fmt not in ("jsonl", "csv"):
        fail("--format must be jsonl or csv")
    try:
        where = repository.EventFilter(account_id=account, sites=[site] if site else None,
                                       since=parse_instant(since, "since"), until=parse_instant(until, "until"))
    except GatehouseError as exc:
        fail(f"{exc.details[0].message if exc.details else exc.message}".replace("Query parameter", "option"))
        return

    async def run(db: Database) -> int:
        out = sys.stdout if output == "-" else Path(output).open("w", newline="", encoding="utf-8")
        count = 0
        try:
            writer = csvout.Writer(out) if fmt == "csv" else None
            if writer is not None:
                writer.header(CSV_COLUMNS)
            async with db.read() as session:
                async for row in repository.stream(session, where):
                    event = present(row)
                    if writer is None:
                        out.write(json.dumps(event, separators=(",", ":")) + "\n")
                    else:
                        actor = event["actor"]
                        writer.row([event["id"], event["type"], event["occurredAt"], actor["kind"], actor["name"],
                                         actor.get("clientId", ""), event["accountId"] or "", event["siteCode"] or "",
                                         event["objectId"], json.dumps(event["data"], separators=(",", ":")),
                                         event["correlationId"], event["ip"]])
                    count += 1
        finally:
            if out is not sys.stdout:
                out.close()
        return count

    n = run_db(run)
    typer.echo(f"{n} events exported", err=True)
