"""Typed settings, read from GATEHOUSE_* environment variables."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEHOUSE_", extra="ignore")

    environment: Literal["development", "production", "test"] = "development"
    data_dir: Path = Path("./gatehouse-data")
    # Empty means the embedded default: a SQLite file in data_dir.
    database_url: str = ""
    # Empty means the embedded default: files under data_dir/blobs. Else s3://bucket?endpoint=...
    storage_url: str = ""
    token_ttl_seconds: int = Field(3599, ge=60, le=86400)
    # How stale a process's token/grant cache may be: disabled apps stop working within this.
    auth_cache_seconds: float = Field(0.5, gt=0, le=1.0)
    lockout_failures: int = 5
    # how long before a visit's window opens the desk may check the visitor in (SPEC §3)
    early_arrival_minutes: int = Field(60, ge=0, le=1440)
    # a visitor still checked in this long after the day's window ends is flagged (SPEC §14)
    overstay_grace_minutes: int = Field(30, ge=0, le=1440)
    # a permanent badge unused this long is deactivated by the worker (SPEC §13; 0 turns it off)
    badge_inactivity_days: int = Field(365, ge=0)
    lockout_seconds: int = 900
    max_json_bytes: int = 1024 * 1024
    max_upload_bytes: int = 10 * 1024 * 1024
    staged_attachment_days: int = 40
    # An upload refreshes its pending blob every `upload_heartbeat_seconds`; the sweep removes pending
    # blobs silent for `pending_blob_grace_seconds` (must be several heartbeats).
    upload_heartbeat_seconds: float = Field(30.0, gt=0)
    pending_blob_grace_seconds: float = Field(300.0, gt=0)
    # The worker (SPEC §9): "in-process" runs one inside every API process (serve, demo);
    # "external" leaves deliveries and periodic jobs to `gatehouse worker` processes.
    worker: Literal["in-process", "external"] = "in-process"
    # Prometheus metrics on their own port (not the API's, not behind a token); unset = off
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    # an in-process worker's deliveries per second while its API process is serving requests:
    # requests come first, the outbox holds the rest until the API is idle (a `gatehouse worker`
    # process has no such limit). A mail costs its process about 3 ms of CPU (render, file or SMTP,
    # claim and record): at 25 a second, under a tenth of a busy API process (at 100 it was a third)
    worker_busy_rate: float = Field(25.0, gt=0, le=100_000)
    worker_lease_seconds: float = Field(60.0, gt=0)
    worker_concurrency: int = Field(32, ge=1, le=1000)
    worker_poll_seconds: float = Field(1.0, gt=0, le=60)
    # modules imported by every worker, each registering outbox channels (extensions, tests)
    worker_plugins: str = ""
    # the outbox channels this process's worker delivers, comma-separated ("mail", "webhook", a
    # plugin's); empty: every one. A worker for mail alone never waits behind a slow webhook backlog
    worker_channels: str = ""
    # Links in mails (and, later, the console) are built from this.
    public_url: str = "http://127.0.0.1:8000"
    # smtp://user:pass@host:587?starttls=true | smtps://host:465 | smtp://host:25; empty: .eml files
    # under <data dir>/mail/ (the demo)
    smtp_url: str = ""
    mail_from: str = "Gatehouse <gatehouse@localhost>"
    # Webhooks: https to public addresses only, unless this is set (the demo, tests)
    webhook_allow_private: bool = False
    # identity providers on private or loopback addresses (a provider inside the operator's network,
    # the tests' own): off by default, as for webhooks (SPEC §11, §16)
    sso_allow_private: bool = False
    pii_retention_days: int = Field(365, ge=0)
    audit_retention_days: int = Field(2555, ge=0)
    jobs_enabled: bool = True
    jobs_interval_seconds: float = Field(60.0, gt=0)
    log_level: str = "INFO"
    access_log: bool = True
    db_pool_size: int = Field(10, ge=1, le=200)
    # how long a new PostgreSQL connection is asked for again while the server has none to spare
    db_connect_wait_seconds: float = Field(3.0, ge=0, le=60)
    # HTTP server limits (README, "Server limits")
    max_header_bytes: int = Field(32 * 1024, ge=4096, le=1024 * 1024)
    header_timeout_seconds: float = Field(10.0, gt=0)
    keep_alive_seconds: int = Field(5, ge=1)
    max_connections: int = Field(1000, ge=10)

    @model_validator(mode="after")
    def _refuse_unsafe_defaults(self) -> Settings:
        # Outside development an operator must choose where data lives, explicitly.
        if self.environment == "production" and not self.database_url:
            raise ValueError("GATEHOUSE_DATABASE_URL must be set when GATEHOUSE_ENVIRONMENT=production")
        if self.pending_blob_grace_seconds < 3 * self.upload_heartbeat_seconds:
            raise ValueError("GATEHOUSE_PENDING_BLOB_GRACE_SECONDS must be at least 3 x GATEHOUSE_UPLOAD_HEARTBEAT_SECONDS")
        return self

    @cached_property
    def effective_database_url(self) -> str:
        url = self.database_url or f"sqlite:///{(self.data_dir / 'gatehouse.db').resolve()}"
        return to_async_url(url)

    @cached_property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @cached_property
    def effective_storage_url(self) -> str:
        return self.storage_url or f"file://{(self.data_dir / 'blobs').resolve()}"


def to_async_url(url: str) -> str:
    """Accept the URLs people write (postgresql://, sqlite:///) and pick the async driver."""
    for prefix, driver in (
        ("postgresql+asyncpg://", None),
        ("postgresql+psycopg://", "postgresql+asyncpg://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("sqlite+aiosqlite://", None),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(prefix):
            return url if driver is None else driver + url[len(prefix):]
    raise ValueError(f"unsupported database URL scheme: {url.split(':', 1)[0]}")
