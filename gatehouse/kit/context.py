"""Who and where a change comes from, for the event trail: set once per request (middleware,
auth dependency), per CLI command or per job, read by `events.record`."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Actor:
    kind: str  # user | operator | admin | system
    name: str
    client_id: str = ""
    user_id: int | None = None


SYSTEM = Actor("system", "system")
ADMIN = Actor("admin", "admin")

current_actor: ContextVar[Actor | None] = ContextVar("gatehouse_actor", default=None)
correlation_id: ContextVar[str] = ContextVar("gatehouse_correlation_id", default="")
client_ip: ContextVar[str] = ContextVar("gatehouse_client_ip", default="")
