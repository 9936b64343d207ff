"""CLI plumbing: one event loop per command, one-line errors, --json output. (The `gatehouse`
command installs the event fan-outs once, in cli/main.py, so CLI changes tell the same people.)"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from gatehouse.config import Settings
from gatehouse.kit import context
from gatehouse.kit.context import ADMIN
from gatehouse.kit.db import Database
from gatehouse.kit.errors import GatehouseError

T = TypeVar("T")


def fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def load_settings(**overrides: Any) -> Settings:
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except (ValidationError, ValueError) as exc:
        fail(str(exc).splitlines()[0] if not isinstance(exc, ValidationError) else
             "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
        raise  # unreachable


def database_label(settings: Settings) -> str:
    """The configured database as a person would name it: the file, or the URL without its password."""
    if settings.is_sqlite:
        return str(settings.effective_database_url.split(":///", 1)[-1])
    from sqlalchemy.engine import make_url

    return make_url(settings.effective_database_url).render_as_string(hide_password=True).replace("+asyncpg", "")


def require_database(settings: Settings) -> None:
    """Commands that work on an existing installation refuse, in one line, to start where there is
    none: no SQLite file is created in whatever folder the command was typed, no database is
    guessed at, and an unreachable one is named as the database."""
    if settings.is_sqlite:
        path = Path(database_label(settings))
        if not path.exists():
            fail(f"no Gatehouse database at {path}: start one with 'gatehouse demo' or 'gatehouse db upgrade', "
                 "or point GATEHOUSE_DATA_DIR or GATEHOUSE_DATABASE_URL at yours")
        return

    async def probe() -> None:
        db = Database(settings)
        try:
            async with db.read() as session:
                await session.execute(text("SELECT 1"))
        finally:
            await db.dispose()

    try:
        asyncio.run(asyncio.wait_for(probe(), 15))
    except Exception as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0] if str(exc) else type(exc).__name__
        fail(f"cannot reach the database {database_label(settings)}: {reason}")


def run_db(fn: Callable[[Database], Awaitable[T]], settings: Settings | None = None) -> T:
    """Run `fn` against the configured database, turning every expected failure into one line."""
    settings = settings or load_settings()
    require_database(settings)

    async def main() -> T:
        context.current_actor.set(ADMIN)  # changes made from the server's shell
        db = Database(settings)
        try:
            return await fn(db)
        finally:
            await db.dispose()

    try:
        return asyncio.run(main())
    except GatehouseError as exc:
        fail(exc.message)
    except IntegrityError as exc:
        fail(f"conflicts with existing data ({str(exc.orig).splitlines()[0]})")
    except OperationalError as exc:
        fail(f"database error: {str(exc.orig).splitlines()[0]} (has 'gatehouse db upgrade' been run?)")
    except OSError as exc:
        fail(f"{exc} (database {database_label(settings)})")
    except ValueError as exc:
        fail(str(exc))
    raise AssertionError("unreachable")


def output(data: Any, as_json: bool, human: Callable[[Any], str] | None = None) -> None:
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=str))
    elif human is not None:
        typer.echo(human(data))
    elif isinstance(data, list):
        for row in data:
            typer.echo("  ".join(f"{k}={v}" for k, v in row.items()))
        if not data:
            typer.echo("(none)", err=True)
    else:
        typer.echo("  ".join(f"{k}={v}" for k, v in data.items()))


def is_tty() -> bool:
    return sys.stdout.isatty()
