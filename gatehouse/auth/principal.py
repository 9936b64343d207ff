"""Who is calling: the authenticated principal and the account context of a call."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Membership:
    account_id: str
    master_account_id: str
    permissions: frozenset[str]


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: int
    kind: str  # "customer" | "operator"
    display_name: str
    master_account_id: str | None
    app_id: int
    expires_at: datetime
    memberships: dict[str, Membership] = field(default_factory=dict)
    operator_sites: frozenset[str] = frozenset()
    client_id: str = ""
    strict: bool = False  # an app created strict: unknown fields refused, as with Gatehouse-Strict: true
    operator_roles: frozenset[str] = frozenset()  # desk | watchlist | admin (SPEC §16)

    @property
    def is_operator(self) -> bool:
        return self.kind == "operator"

    def has_permission_anywhere(self, permission: str) -> bool:
        return any(permission in m.permissions for m in self.memberships.values())


@dataclass(frozen=True, slots=True)
class AccountContext:
    """A customer call made on behalf of one account (the Master-Account-Id/Account-Id headers)."""

    principal: Principal
    master_account_id: str
    account_id: str
    permissions: frozenset[str]

    @property
    def user_id(self) -> int:
        return self.principal.user_id

    @property
    def display_name(self) -> str:
        return self.principal.display_name
