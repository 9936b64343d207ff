"""`gatehouse admin outbox ...`: what waits, what was delivered, what died; retry by hand."""

from __future__ import annotations

from typing import Annotated

import typer

from gatehouse.kit.cli import output, run_db
from gatehouse.kit.db import Database
from gatehouse.worker import repository

app = typer.Typer(rich_markup_mode=None, help="Outbox deliveries (mail, webhooks): list and retry.", no_args_is_help=True)
Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def list_messages(channel: str | None, status: str | None, limit: int, json: bool) -> None:
    async def fn(db: Database) -> list[dict]:
        async with db.read() as s:
            return await repository.listing(s, channel=channel, status=status, limit=limit)
    output(run_db(fn), json, None if json else lambda rows: "\n".join(
        f"{r['id']:>8}  {r['channel']:<8} {r['status']:<9} attempts={r['attempts']}  {r['target']}"
        f"  {r['lastError'] or ''}" for r in rows) or "(none)")


def retry_message(message_id: int, channel: str | None, json: bool) -> None:
    async def fn(db: Database) -> dict:
        async with db.write() as s:
            return await repository.retry(s, message_id, channel=channel)
    output(run_db(fn), json)


@app.command("list")
def outbox_list(channel: Annotated[str | None, typer.Option(help="mail, webhook, ...")] = None,
                status: Annotated[str | None, typer.Option(help="pending, delivered or dead")] = None,
                limit: Annotated[int, typer.Option(min=1, max=10000)] = 100, json: Json = False) -> None:
    """Newest first, with their attempts and last error."""
    list_messages(channel, status, limit, json)


@app.command("retry")
def outbox_retry(message_id: Annotated[int, typer.Argument(help="The id from `list`")], json: Json = False) -> None:
    """Send a dead (or pending) message again now, with a fresh schedule."""
    retry_message(message_id, None, json)


mail_app = typer.Typer(rich_markup_mode=None, help="Mail (SPEC §10): what was sent, what waits, what died; retry by hand.",
                       no_args_is_help=True)


@mail_app.command("list")
def mail_list(status: Annotated[str | None, typer.Option(help="pending, delivered or dead")] = None,
              limit: Annotated[int, typer.Option(min=1, max=10000)] = 100, json: Json = False) -> None:
    """Mails newest first: recipient, status, attempts and the last error."""
    list_messages("mail", status, limit, json)


@mail_app.command("retry")
def mail_retry(message_id: Annotated[int, typer.Argument(help="The id from `mail list`")], json: Json = False) -> None:
    """Send a dead (or waiting) mail again now."""
    retry_message(message_id, "mail", json)
