"""Who hears a change is read under a lock that an endpoint's create or enable waits for:
PostgreSQL advisory locks per owner (an account, a site), taken SHARED by a change before it reads
the subscriptions, and EXCLUSIVE by an endpoint's create or update. So an endpoint either committed
before the change read them (and hears it), or after the change committed (and owes nothing).
Advisory locks live in the lock table: unlike row locks they write nothing to the owners' rows,
which every create would otherwise share (measured: row locks cost the create a third of its rate).
On SQLite a change is the one writer until it commits: nothing to take.

Plumbing (the webhooks domain's rule, taken by the create before any domain's planner runs), so it
lives below both. Keys are computed here, not by PostgreSQL's hashtext: integers can ride in the
literal text sent with BEGIN, one round trip for both (`shared_sql`); a collision only makes one
change wait, never miss."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

ACCOUNT, SITE = 1, 2


def key(owner_id: str) -> int:
    """The lock's second key: 32 stable bits of the owner's id (the same in every process)."""
    return int.from_bytes(hashlib.blake2b(owner_id.encode(), digest_size=4).digest(), "big", signed=True)


def shared_sql(account_id: str, site_codes: Iterable[str]) -> str:
    """A change's holds, as literal SQL (integers only: nothing of a caller's text is in it), for the
    lean writer to send with its BEGIN: the account's and every site's lock, shared, in a fixed order."""
    holds = [(ACCOUNT, key(account_id)), *((SITE, key(c)) for c in sorted(set(site_codes)))]
    return "SELECT " + ", ".join(f"pg_advisory_xact_lock_shared({kind}, {k})" for kind, k in holds)


def held_key(account_id: str | None, site_code: str | None) -> tuple[str, str | None, str | None]:
    """The memo key a change sets once it holds these owners' locks: the planners read without taking them."""
    return ("held", account_id, site_code)


def mark_held(memo: dict[Any, Any], account_id: str, site_codes: Iterable[str]) -> None:
    memo.update({held_key(account_id, c): True for c in site_codes})
