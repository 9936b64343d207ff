"""The `gatehouse` command."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from gatehouse.cli.admin import app as admin_app
from gatehouse.kit.cli import fail, load_settings, require_database
from gatehouse.operators.cli import app as ops_app
from gatehouse.wiring import install_fanouts

install_fanouts()  # changes made from the shell tell the same people as the API's (mail, webhooks)

cli = typer.Typer(rich_markup_mode=None, help="Gatehouse: facility access and work-order attachments API.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
db_app = typer.Typer(rich_markup_mode=None, help="Database schema.", no_args_is_help=True)
cli.add_typer(db_app, name="db")
cli.add_typer(admin_app, name="admin")
cli.add_typer(ops_app, name="ops")


def _configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(message)s", stream=sys.stderr)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _upgrade(settings) -> None:
    from gatehouse.migrations.runner import upgrade

    try:
        upgrade(settings)
    except Exception as exc:
        fail(f"migration failed: {str(exc).splitlines()[0]}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the schema to the newest revision (idempotent)."""
    from gatehouse.migrations.runner import current_revision, head_revision

    settings = load_settings()
    try:
        before = current_revision(settings)
    except Exception:
        before = "?"
    _upgrade(settings)
    head = head_revision()
    if before is None:
        typer.echo(f"schema created (revision {head})")
    elif before != head:
        typer.echo(f"schema upgraded from revision {before} to {head}")
    else:
        typer.echo(f"database is up to date (revision {head})")


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes")] = 1,
    migrate: Annotated[bool, typer.Option("--migrate/--no-migrate", help="Upgrade the schema first")] = True,
) -> None:
    """Serve the API (settings from GATEHOUSE_* environment variables)."""
    from gatehouse.kit import server

    settings = load_settings()
    _configure_logging(settings.log_level)
    if migrate:
        _upgrade(settings)
    if settings.metrics_port is not None:
        from gatehouse.wiring import start_metrics

        if workers > 1:  # each worker writes its samples to a shared folder; this process sums them
            from gatehouse.kit.metrics import prepare_multiprocess

            prepare_multiprocess(settings.data_dir)
        start_metrics(settings)
    server.run("gatehouse.app:create_app", settings, host=host, port=port, workers=workers, factory=True)


@cli.command()
def worker(
    migrate: Annotated[bool, typer.Option("--migrate/--no-migrate", help="Upgrade the schema first")] = False,
    channels: Annotated[str | None, typer.Option(
        help="Deliver only these outbox channels, comma-separated (mail, webhook); "
             "default GATEHOUSE_WORKER_CHANNELS, empty: all")] = None,
) -> None:
    """Run a worker: outbox deliveries (mail, webhooks) and periodic jobs. Any number may run beside
    the API processes (set GATEHOUSE_WORKER=external on those). Stops cleanly on SIGTERM."""
    from gatehouse.wiring import UnknownChannel, run_standalone

    settings = load_settings()
    if channels is not None:
        settings = settings.model_copy(update={"worker_channels": channels})
    _configure_logging(settings.log_level)
    if migrate:
        _upgrade(settings)
    require_database(settings)  # one line and a non-zero exit, not a loop of tracebacks
    from gatehouse.wiring import start_metrics

    start_metrics(settings)  # its own GATEHOUSE_METRICS_PORT: deliveries and jobs of this process
    try:
        asyncio.run(run_standalone(settings))
    except UnknownChannel as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(2) from None


@cli.command()
def demo(
    port: Annotated[int, typer.Option(help="Port to bind")] = 8000,
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    data_dir: Annotated[Path, typer.Option(help="Where the SQLite file, blobs and credentials live")] = Path(
        "./gatehouse-data"),
) -> None:
    """Start a ready sandbox on the embedded defaults (SQLite + local files) with the seeds' world."""
    import os

    from gatehouse.app import create_app
    from gatehouse.demo import banner, seed_demo
    from gatehouse.kit import server
    from gatehouse.kit.db import Database

    # the sandbox's links point at itself, and its webhooks may target local receivers (SPEC §11)
    os.environ.setdefault("GATEHOUSE_PUBLIC_URL", f"http://{host}:{port}")
    os.environ.setdefault("GATEHOUSE_WEBHOOK_ALLOW_PRIVATE", "true")
    settings = load_settings(data_dir=data_dir)
    _configure_logging(settings.log_level)
    data_dir.mkdir(parents=True, exist_ok=True)
    _upgrade(settings)
    cred_path = (data_dir / "demo-credentials.json").resolve()
    from gatehouse.demo import write_samples

    write_samples(data_dir / "samples")

    async def seed():
        db = Database(settings)
        try:
            return await seed_demo(db, cred_path)
        finally:
            await db.dispose()

    creds = asyncio.run(seed())
    typer.echo(banner(creds, f"http://{host}:{port}", cred_path))
    from gatehouse.wiring import start_metrics

    start_metrics(settings)
    server.run(create_app(settings), settings, host=host, port=port)


def main() -> None:
    cli()
