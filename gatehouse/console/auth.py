"""People signing in to the console: email + password (argon2id), the same lock-out as client
secrets (SPEC §2), server-side sessions (12 h idle timeout), a CSRF token per session."""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from sqlalchemy import Select, bindparam, delete, exists, func, literal_column, select, update

from gatehouse.accounts.models import MasterAccount, OperatorSite, SignInPolicy, User
from gatehouse.auth.models import SignInThrottle
from gatehouse.auth.service import hash_secret, verify_secret
from gatehouse.config import Settings
from gatehouse.console.models import ConsoleLogin, ConsoleSession, TotpFactor
from gatehouse.events import service as events
from gatehouse.kit import lockout
from gatehouse.kit.context import Actor
from gatehouse.kit.db import Database, utcnow
from gatehouse.kit.errors import BadRequest, NotFound
from gatehouse.kit.jsonagg import JsonArray
from gatehouse.kit.metrics import LOCKOUTS, REFUSALS

IDLE_TIMEOUT = timedelta(hours=12)
TOUCH_EVERY = timedelta(minutes=1)
MIN_PASSWORD = 10
_DUMMY = hash_secret("gatehouse-console-dummy")


@dataclass(frozen=True)
class Person:
    user_id: int
    kind: str  # customer | operator
    name: str
    email: str
    sites: frozenset[str]
    csrf: str
    roles: frozenset[str] = frozenset()  # an operator's: desk | watchlist | admin (SPEC §16)
    must_enrol: bool = False  # a policy asks for a second factor this person has not set up yet

    @property
    def is_operator(self) -> bool:
        return self.kind == "operator"


class SignInRefused(Exception):
    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD or len(password) > 200 or not password.strip():
        raise BadRequest(f"a password must be {MIN_PASSWORD}-200 characters")
    return password


async def set_password(db: Database, display_name: str, password: str) -> User:
    check_password(password)
    digest = await asyncio.to_thread(hash_secret, password)
    async with db.write() as session:
        user = (await session.execute(select(User).where(User.display_name == display_name))).scalar_one_or_none()
        if user is None:
            raise NotFound(f"no user or operator named '{display_name}'")
        if not user.email:
            raise BadRequest(f"'{display_name}' has no email to sign in with; set one first (set-email)")
        login = await session.get(ConsoleLogin, user.id)
        if login is None:
            session.add(ConsoleLogin(user_id=user.id, password_hash=digest, updated_at=utcnow()))
        else:
            login.password_hash, login.updated_at = digest, utcnow()
        # a new password ends the run of failures and any lock on that email
        await lockout.reset(session, SignInThrottle, _throttle_key(user.email))
        # a new password ends every session of this person
        await session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user.id))
        return user


def _throttle_key(email: str) -> str:
    return hashlib.sha256(email.lower().encode()).hexdigest()


async def sign_in(db: Database, settings: Settings, email: str, password: str) -> tuple[str, Person]:
    """A new session for the right email and password, else SignInRefused. The lock-out is the one
    client secrets use (kit/lockout.py), counted per email typed before anything is looked up, so a
    known and an unknown email get the same answers in the same order and time."""
    email = email.strip()[:254]
    key = _throttle_key(email)
    attempt = await lockout.take(db, SignInThrottle, key, limit=settings.lockout_failures, create=True)
    if attempt.retry_after is not None:
        await _failed(db, None, email, "locked")
        minutes = -(-attempt.retry_after // 60)
        raise SignInRefused(f"Too many failed sign-ins; try again in {minutes} minute{'s' * (minutes != 1)}.",
                            attempt.retry_after)
    if attempt.over_limit:
        await _failed(db, None, email, "too_many_attempts")
        raise SignInRefused("Too many sign-ins at once; try again shortly.", 1)
    async with db.read() as session:
        row = (await session.execute(select(User, ConsoleLogin).join(ConsoleLogin, ConsoleLogin.user_id == User.id)
                                     .where(func.lower(User.email) == email.lower()))).first()
    user, login = row if row is not None else (None, None)
    # an unknown email costs the same argon2id check as a known one
    ok = await asyncio.to_thread(verify_secret, login.password_hash if login else _DUMMY, password)
    if user is None or not ok or user.disabled:
        await _failed(db, user, email, "unknown_email" if user is None else "disabled" if ok else "wrong_password")
        if await lockout.failed(db, SignInThrottle, key, attempt, seconds=settings.lockout_seconds):
            LOCKOUTS.labels("console").inc()
        raise SignInRefused("Wrong email or password.")
    now = utcnow()
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    async with db.write() as session:
        await lockout.succeeded(session, SignInThrottle, key, attempt)
        # with a second factor the session waits for its code (console/totp.py) before any page opens
        pending = await session.get(TotpFactor, user.id) is not None
        session.add(ConsoleSession(token_hash=_digest(token), user_id=user.id, csrf_token=csrf, created_at=now,
                                   last_seen_at=now, second_factor_pending=pending))
        await events.record(session, "auth.console_login", object_id=str(user.id), actor=_actor(user),
                            data={"userId": user.id})
        sites = await _sites(session, user)
    return token, Person(user.id, user.kind, user.display_name, user.email or "", sites, csrf, _roles(user))


async def open_sso_session(db: Database, user: User, scope: str) -> tuple[str, Person]:
    """A session opened by an identity provider (SPEC §16): no password, no console second factor
    (the provider's own stands for it)."""
    token, csrf, now = secrets.token_urlsafe(32), secrets.token_urlsafe(32), utcnow()
    async with db.write() as session:
        session.add(ConsoleSession(token_hash=_digest(token), user_id=user.id, csrf_token=csrf, created_at=now,
                                   last_seen_at=now, second_factor_pending=False, via_sso=True))
        await events.record(session, "auth.console_login", object_id=str(user.id), actor=_actor(user),
                            data={"userId": user.id, "sso": scope})
        sites = await _sites(session, user)
    return token, Person(user.id, user.kind, user.display_name, user.email or "", sites, csrf, _roles(user))


async def sso_refused(db: Database, reason: str) -> None:
    """A refused single sign-on in the trail, with its reason (a bad state, nonce, token...)."""
    REFUSALS.labels("console", "sso").inc()
    async with db.write() as session:
        await events.record(session, "auth.console_login_failed", actor=Actor("user", "unknown"),
                            data={"reason": "sso", "detail": reason[:300]})


def _actor(user: User) -> Actor:
    return Actor("operator" if user.kind == "operator" else "user", user.display_name, "", user.id)


async def _failed(db: Database, user: User | None, email: str, reason: str) -> None:
    REFUSALS.labels("console", reason).inc()
    async with db.write() as session:
        await events.record(session, "auth.console_login_failed", object_id=str(user.id) if user else "",
                            actor=_actor(user) if user else Actor("user", "unknown"),
                            data={"reason": reason, **({"userId": user.id} if user else {})})


def _roles(user: User) -> frozenset[str]:
    return frozenset((user.operator_roles or "").split()) if user.kind == "operator" else frozenset()


async def _sites(session, user: User) -> frozenset[str]:
    if user.kind != "operator":
        return frozenset()
    rows = await session.execute(select(OperatorSite.site_code).where(OperatorSite.user_id == user.id))
    return frozenset(rows.scalars())


@cache
def _person_statement() -> Select:
    """Everything a console request needs to know of its person, as one statement on the lean
    reader: the session and its user, an operator's sites, and whether a policy asks for a second
    factor the person has not set up (five ORM reads through a thread before: py-spy, the desk)."""
    s, u, x = ConsoleSession.__table__, User.__table__, OperatorSite.__table__
    sites = JsonArray(x, lambda c: {"code": c.site_code}, lambda c: c.user_id == u.c.id, lambda c: c.site_code, u)
    policy = (select(SignInPolicy.operators_require_totp).where(SignInPolicy.id == literal_column("1"))
              .scalar_subquery())  # the one policy row, inline: the lean reader binds only named parameters
    master = (select(MasterAccount.require_totp).where(MasterAccount.id == u.c.master_account_id)
              .correlate(u).scalar_subquery())
    enrolled = exists().where(TotpFactor.user_id == u.c.id).correlate(u)
    return (select(s.c.user_id, s.c.csrf_token, s.c.last_seen_at, s.c.second_factor_pending, s.c.via_sso, u.c.kind,
                   u.c.display_name, u.c.email, u.c.disabled, u.c.operator_roles, sites.label("sites_json"),
                   policy.label("operators_totp"), master.label("master_totp"), enrolled.label("enrolled"))
            .join(u, u.c.id == s.c.user_id).where(s.c.token_hash == bindparam("digest")))


async def person_for(db: Database, token: str | None) -> Person | None:
    """The signed-in person of a session cookie, or None (unknown, ended, idle too long)."""
    if not token or len(token) > 100:
        return None
    digest = _digest(token)
    now = utcnow()
    found = await db.reader.rows(_person_statement(), digest=digest)
    if not found:
        return None
    r = found[0]
    if r["second_factor_pending"]:
        return None  # the password alone opens nothing
    if r["disabled"] or now - r["last_seen_at"] > IDLE_TIMEOUT:
        await sign_out(db, token)
        return None
    if now - r["last_seen_at"] > TOUCH_EVERY:
        async with db.write() as session:
            await session.execute(update(ConsoleSession).where(ConsoleSession.token_hash == digest)
                                  .values(last_seen_at=now))
    operator = r["kind"] == "operator"
    required = _policy_asks(r["kind"], r["operators_totp"], r["master_totp"])
    sites = frozenset(x["code"] for x in json.loads(r["sites_json"] or "[]")) if operator else frozenset()
    roles = frozenset((r["operator_roles"] or "").split()) if operator else frozenset()
    return Person(r["user_id"], r["kind"], r["display_name"], r["email"] or "", sites, r["csrf_token"], roles,
                  not r["via_sso"] and required and not r["enrolled"])


def _policy_asks(kind: str, operators_totp: bool | None, master_totp: bool | None) -> bool:
    """Whether a policy asks this person for a second factor (SPEC §16): operators' one, or their
    master account's."""
    return bool(operators_totp) if kind == "operator" else bool(master_totp)


async def totp_required(session, user: User) -> bool:
    policy = await session.get(SignInPolicy, 1) if user.kind == "operator" else None
    master = await session.get(MasterAccount, user.master_account_id) if user.master_account_id else None
    return _policy_asks(user.kind, policy and policy.operators_require_totp, master and master.require_totp)


async def sign_out(db: Database, token: str | None) -> None:
    if token:
        async with db.write() as session:
            await session.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == _digest(token)))


async def change_password(db: Database, person: Person, current: str, new: str) -> None:
    check_password(new)
    async with db.read() as session:
        login = await session.get(ConsoleLogin, person.user_id)
    if login is None or not await asyncio.to_thread(verify_secret, login.password_hash, current):
        raise BadRequest("The current password is wrong.")
    async with db.read() as session:
        name = (await session.execute(select(User.display_name).where(User.id == person.user_id))).scalar_one()
    await set_password(db, name, new)


def session_digest(token: str | None) -> str:
    return _digest(token) if token and len(token) <= 100 else ""
