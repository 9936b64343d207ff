"""Client credentials, token issue and validation, lock-out, revocation."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.accounts.models import User
from gatehouse.auth import client_secrets, repository
from gatehouse.auth.models import AccessToken, App
from gatehouse.auth.principal import Membership, Principal
from gatehouse.config import Settings
from gatehouse.events import service as events
from gatehouse.kit import lockout
from gatehouse.kit.context import Actor
from gatehouse.kit.db import Database, utcnow
from gatehouse.kit.epoch import bump_security_epoch
from gatehouse.kit.errors import NotFound, TooManyRequests, Unauthorized
from gatehouse.kit.leanread import Rows, SessionRows
from gatehouse.kit.leanwrite import insert as lean_insert
from gatehouse.kit.metrics import LOCKOUTS, REFUSALS

# OWASP's argon2id floor (19 MiB, t=2): people's passwords (client secrets: client_secrets.py).
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def verify_secret(secret_hash: str, secret: str) -> bool:
    try:
        return _hasher.verify(secret_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


async def app_secret_matches(session: AsyncSession, app: App, secret: str) -> bool:
    """An app's secret, whichever hash it is stored with (keyed SHA-256, or argon2id from before)."""
    if client_secrets.is_keyed(app.secret_hash):
        return client_secrets.matches(await client_secrets.key(session), app.secret_hash, secret)
    return await asyncio.to_thread(verify_secret, app.secret_hash, secret)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_client_id() -> str:
    return secrets.token_hex(16)


def new_client_secret() -> str:
    return secrets.token_urlsafe(32)


# --- apps -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AppCredentials:
    app_id: int
    client_id: str
    client_secret: str  # shown once


async def create_app(session: AsyncSession, user_id: int, name: str = "default",
                     client_id: str | None = None, client_secret: str | None = None,
                     strict: bool = False) -> AppCredentials:
    client_id = client_id or new_client_id()
    client_secret = client_secret or new_client_secret()
    secret_hash = client_secrets.digest(await client_secrets.key(session), client_secret)
    app = App(client_id=client_id, secret_hash=secret_hash, user_id=user_id, name=name, enabled=True,
              failed_attempts=0, strict=strict)
    session.add(app)
    await session.flush()
    await _app_event(session, "app.created", app)
    return AppCredentials(app.id, client_id, client_secret)


async def _app_event(session: AsyncSession, type_: str, app: App) -> None:
    user = await session.get(User, app.user_id)
    account = await repository.first_account_of(session, app.user_id)
    await events.record(session, type_, object_id=app.client_id, account_id=account,
                        data={"clientId": app.client_id, "userKind": user.kind if user else "",
                              "strict": bool(app.strict)})


async def get_app_by_client_id(session: AsyncSession, client_id: str) -> App:
    app = await repository.app_by_client_id(session, client_id)
    if app is None:
        raise NotFound(f"No app with client_id '{client_id}'.", code="APP_NOTFOUND")
    return app


async def rotate_secret(session: AsyncSession, client_id: str, new_secret: str | None = None) -> AppCredentials:
    """A new secret; every token issued under the old one stops working at once."""
    app = await get_app_by_client_id(session, client_id)
    secret = new_secret or new_client_secret()
    app.secret_hash = client_secrets.digest(await client_secrets.key(session), secret)
    await lockout.reset(session, App, app.id)
    await repository.drop_tokens_of_app(session, app.id)
    await bump_security_epoch(session)
    await _app_event(session, "app.secret_rotated", app)
    return AppCredentials(app.id, app.client_id, secret)


async def set_app_enabled(session: AsyncSession, client_id: str, enabled: bool) -> App:
    app = await get_app_by_client_id(session, client_id)
    app.enabled = enabled
    if not enabled:
        await repository.drop_tokens_of_app(session, app.id)
        await _app_event(session, "app.disabled", app)
    await bump_security_epoch(session)
    return app


async def set_app_strict(session: AsyncSession, client_id: str, strict: bool) -> App:
    """Strict (SPEC §1): the app's requests have unknown fields and parameters refused; its tokens
    read the change within a second, as any grant change (the security epoch)."""
    app = await get_app_by_client_id(session, client_id)
    app.strict = strict
    await _app_event(session, "app.updated", app)
    await bump_security_epoch(session)
    return app


# --- tokens ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    principal: Principal
    scope: str


def _invalid_client() -> Unauthorized:
    return Unauthorized("Client authentication failed: unknown client or wrong secret.", code="invalid_client")


async def issue_token(db: Database, settings: Settings, client_id: str, client_secret: str) -> IssuedToken:
    if "\x00" in client_id:  # cannot exist, and PostgreSQL refuses NUL in text parameters
        raise _invalid_client()
    # reads on the lean reader (no ORM, no thread hop on SQLite): the token path's profile was
    # requests queued on the ORM's sessions while the event loop sat 60% idle
    row = await repository.app_with_user(db.reader, client_id)
    # the installation's key, unless the app's secret is still under argon2id (replaced below)
    keyed = None
    if row is None or client_secrets.is_keyed(row[0].secret_hash):
        keyed = client_secrets.cached_key(db.settings.effective_database_url)
        if keyed is None:
            async with db.read() as session:
                keyed = await client_secrets.key(session)
    if row is None:
        # the same work as a real check, so the answer's timing does not tell which client ids exist
        client_secrets.digest(keyed or b"", client_secret)
        await _refused(db, client_id, None, "unknown_client")
        raise _invalid_client()
    app, user = row
    # The check first (a keyed hash: microseconds), then the lock-out counts failures only
    # (kit/lockout.py): correct secrets arriving together all succeed; wrong ones lock at the limit.
    if keyed is not None:
        ok = client_secrets.matches(keyed, app.secret_hash, client_secret)
    else:  # an argon2id hash from before: checked as it was, and replaced below once it matched
        ok = await asyncio.to_thread(verify_secret, app.secret_hash, client_secret)
    if not ok:
        failed = await lockout.count_failure(db, App, app.id, limit=settings.lockout_failures,
                                       seconds=settings.lockout_seconds)
        if failed.refused:
            await _refused(db, client_id, user, "locked")
            raise _client_locked(failed.retry_after or 1)
        await _refused(db, client_id, user, "wrong_secret")
        if failed.locked_now:
            await _locked(db, settings, client_id, user)
        raise _invalid_client()
    locked = lockout.retry_after(app.locked_until)
    if locked is not None:
        await _refused(db, client_id, user, "locked")
        raise _client_locked(locked)
    if not app.enabled or user.disabled:
        await _refused(db, client_id, user, "disabled")
        raise _invalid_client()
    now = utcnow()
    token = secrets.token_urlsafe(32)
    expires_at = now + timedelta(seconds=settings.token_ttl_seconds)
    principal = await load_principal(db.reader, app.id, user, expires_at, app.client_id, app.strict)
    if app.failed_attempts or keyed is None:  # rare: a run of failures to end, an old hash to replace
        async with db.write() as session:
            if app.failed_attempts:
                await lockout.clear(session, App, app.id)
            if keyed is None:
                await repository.set_secret_hash(session, app.id, client_secrets.digest(
                    await client_secrets.key(session), client_secret))
    # The one write of a token request: a single INSERT on the lean writer. Profiled (py-spy, SQLite):
    # the event loop was 60% idle while requests queued for the ORM write transaction's lock.
    await db.lean.run([lean_insert(AccessToken.__table__, {"token_hash": token_digest(token), "app_id": app.id,
                                                           "created_at": now, "expires_at": expires_at})])
    scope = "operator" if principal.is_operator else " ".join(
        sorted({p for m in principal.memberships.values() for p in m.permissions}))
    return IssuedToken(token, settings.token_ttl_seconds, principal, scope)


def _client_locked(retry: int) -> TooManyRequests:
    return TooManyRequests(f"Too many failed attempts for this client; try again in {retry} seconds.",
                           code="CLIENT_LOCKED", headers={"Retry-After": str(retry)})


async def _locked(db: Database, settings: Settings, client_id: str, user: Any) -> None:
    LOCKOUTS.labels("app").inc()
    async with db.write() as session:
        await events.record(session, "auth.locked_out", object_id=client_id, actor=_caller(client_id, user),
                            data={"clientId": client_id, "seconds": settings.lockout_seconds})


def _caller(client_id: str, user: Any) -> Actor:
    """`user`: a User, the lean read's row of one, or None."""
    if user is None:
        return Actor("user", "unknown", client_id[:64])
    return Actor("operator" if user.kind == "operator" else "user", user.display_name, client_id, user.id)


async def _refused(db: Database, client_id: str, user: Any, reason: str) -> None:
    """Every refused token request is in the trail (never the secret)."""
    REFUSALS.labels("token", reason).inc()
    async with db.write() as session:
        await events.record(session, "auth.token_refused", object_id=client_id[:64], actor=_caller(client_id, user),
                            data={"clientId": client_id[:64], "reason": reason})


async def load_principal(runner, app_id: int, user, expires_at: datetime,
                         client_id: str = "", strict: bool = False) -> Principal:
    """`runner`: the lean reader, or an ORM session's SessionRows (the same statements)."""
    memberships: dict[str, Membership] = {}
    sites: frozenset[str] = frozenset()
    if user.kind == "operator":
        sites = await repository.operator_sites_of(runner, user.id)
    else:
        for account_id, master_id, perms in await repository.memberships_of(runner, user.id):
            memberships[account_id] = Membership(account_id, master_id, frozenset(perms.split()))
    return Principal(
        user_id=user.id, kind=user.kind, display_name=user.display_name,
        master_account_id=user.master_account_id, app_id=app_id, expires_at=expires_at,
        memberships=memberships, operator_sites=sites, client_id=client_id, strict=strict,
        operator_roles=frozenset((getattr(user, "operator_roles", "") or "").split()) if user.kind == "operator"
        else frozenset(),
    )


class AuthCache:
    """Per-process cache of validated tokens, so the hot path does no hashing-heavy or
    multi-query work. Correctness across processes comes from the security epoch: it is
    re-read at most every `ttl` seconds and any change empties the cache."""

    MAX_ENTRIES = 50_000

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self.tokens: dict[str, Principal] = {}
        self.epoch: int | None = None
        self.checked_at = 0.0

    async def refresh(self, runner: Rows) -> None:
        now = time.monotonic()
        if now - self.checked_at < self.ttl:
            return
        self.checked_at = now
        value = await repository.security_epoch(runner)
        if self.epoch is not None and value is not None and value < self.epoch:
            return  # an older snapshot than one already seen (another read raced ahead): keep
        if value != self.epoch:
            self.tokens.clear()
            self.epoch = value

    def invalidate(self) -> None:
        self.tokens.clear()
        self.checked_at = 0.0


async def authenticate(db: Database, cache: AuthCache, token: str) -> Principal:
    digest = token_digest(token)
    now = utcnow()
    if time.monotonic() - cache.checked_at >= cache.ttl:
        # the lean reader, not an ORM session: on SQLite a session's five thread hops each waited a
        # turn of a busy event loop, and the request that fell due every half second took 150-250 ms
        await cache.refresh(db.reader)
    principal = cache.tokens.get(digest)
    if principal is not None:
        if principal.expires_at > now:
            return principal
        cache.tokens.pop(digest, None)
        raise Unauthorized()
    for _ in range(3):
        async with db.read() as session:
            row = await repository.token_with_epoch(session, digest)  # one snapshot: see there
            if row is None:
                raise Unauthorized()
            expires_at, app, user, epoch = row
            if expires_at <= now or not app.enabled or user.disabled:
                raise Unauthorized()
            principal = await load_principal(SessionRows(session), app.id, user, expires_at, app.client_id,
                                             bool(app.strict))
        if cache.epoch is not None and epoch < cache.epoch:
            continue  # read before a revocation this process already knows of: read again
        if epoch != cache.epoch:
            cache.tokens.clear()  # a newer epoch than the cache's: everything cached is suspect
            cache.epoch = epoch
            cache.checked_at = time.monotonic()
        if len(cache.tokens) >= cache.MAX_ENTRIES:
            cache.tokens.clear()
        cache.tokens[digest] = principal
        return principal
    raise Unauthorized()


async def purge_expired_tokens(db: Database) -> int:
    async with db.write() as session:
        return await repository.purge_expired_tokens(session, utcnow())
