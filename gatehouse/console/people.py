"""An account's people, kept by its own admins (SPEC §16: `users:manage`): invite someone by email (a
single-use link, 7 days, that sets their password), grant and revoke the account's permissions — never
beyond one's own — and disable people. The same tenancy services as the admin CLI."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select

from gatehouse.accounts import service as accounts
from gatehouse.accounts.models import Account, AccountMembership, User
from gatehouse.auth import client_secrets
from gatehouse.auth.models import App
from gatehouse.console.auth import set_password
from gatehouse.console.models import ConsoleSession, Invitation
from gatehouse.events import service as events
from gatehouse.kit.db import Database, utcnow
from gatehouse.kit.epoch import bump_security_epoch
from gatehouse.kit.errors import BadRequest, Conflict, Forbidden, NotFound
from gatehouse.kit.wire import fmt_iso_ms
from gatehouse.worker.outbox import enqueue

INVITATION_DAYS = 7
_PURPOSE = b"gatehouse invitation v1"


def invitation_token(server_key: bytes, invitation_id: str) -> str:
    sub = hmac.new(server_key, _PURPOSE, hashlib.sha256).digest()
    mac = hmac.new(sub, invitation_id.encode(), hashlib.sha256).digest()[:18]
    return f"{invitation_id}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"


@dataclass
class Member:
    user_id: int
    name: str
    email: str
    permissions: list[str]
    disabled: bool
    apps: int
    invited: bool  # an invitation not used yet


async def members(db: Database, account_id: str) -> list[Member]:
    async with db.read() as session:
        rows = (await session.execute(
            select(User, AccountMembership.permissions).join(AccountMembership, AccountMembership.user_id == User.id)
            .where(AccountMembership.account_id == account_id).order_by(User.display_name))).all()
        ids = [u.id for u, _ in rows]
        apps = dict((await session.execute(select(App.user_id, func.count()).where(App.user_id.in_(ids))
                                           .group_by(App.user_id))).all()) if ids else {}
        waiting = set((await session.execute(select(Invitation.user_id).where(
            Invitation.user_id.in_(ids), Invitation.used_at.is_(None), Invitation.expires_at > utcnow()))).scalars()) \
            if ids else set()
    return [Member(u.id, u.display_name, u.email or "", sorted(p.split()), bool(u.disabled), apps.get(u.id, 0),
                   u.id in waiting) for u, p in rows]


def _within(own: frozenset[str], asked: set[str]) -> None:
    beyond = sorted(asked - own)
    if beyond:
        raise Forbidden(f"You may not grant what you do not hold yourself: {', '.join(beyond)}.",
                        code="BEYOND_OWN_PERMISSIONS")


async def invite(db: Database, account_id: str, own: frozenset[str], inviter: str, name: str, email: str,
                 permissions: set[str]) -> str:
    """A new person of the account, with (some of) the inviter's permissions, and the mail that lets
    them set a password. Returns the invitation's id."""
    _within(own, permissions)
    name = name.strip()
    if not 1 <= len(name) <= 40:
        raise BadRequest("A name is 1-40 characters.", code="INVALID_NAME")
    async with db.write() as session:
        account = await session.get(Account, account_id)
        if account is None:
            raise NotFound()
        if (await session.execute(select(User.id).where(User.display_name == name))).first():
            raise Conflict(f"Someone is already called '{name}': add a detail (a department, an initial).",
                           code="NAME_TAKEN")
        checked = accounts.checked_email(email)
        if not checked:
            raise BadRequest("An invitation needs an email address.", code="INVALID_EMAIL")
        if (await session.execute(select(User.id).where(func.lower(User.email) == checked.lower()))).first():
            raise Conflict(f"{checked} already has a Gatehouse sign-in.", code="EMAIL_TAKEN")
        user = await accounts.create_user(session, name, account.master_account_id, checked)
        await session.flush()
        await accounts.grant_account(session, name, account_id, sorted(permissions), default=True)
        return await send_invitation(session, user, inviter, account.name, account_id=account_id,
                                     data={"permissions": sorted(permissions)})


async def send_invitation(session, user: User, inviter: str, where: str, *,
                          account_id: str | None = None, data: dict | None = None) -> str:
    """The invitation row and its mail, in the caller's transaction (a customer admin's or an
    operator admin's): the link is made when the mail is built, so the outbox holds no credential."""
    now = utcnow()
    invitation = Invitation(id=secrets.token_hex(16), user_id=user.id, invited_by=inviter[:40], created_at=now,
                            expires_at=now + timedelta(days=INVITATION_DAYS))
    session.add(invitation)
    event = await events.record(session, "user.invited", object_id=str(user.id), account_id=account_id,
                                data={"userId": user.id, **(data or {})})
    await enqueue(session, "mail", {"kind": "invitation", "to": user.email, "invitationId": invitation.id,
                                    "inviter": inviter, "account": where, "eventId": event.id,
                                    "at": fmt_iso_ms(now)}, target=user.email or "", event_id=event.id)
    return invitation.id


async def _member(session, account_id: str, user_id: int) -> User:
    row = (await session.execute(select(User).join(AccountMembership, AccountMembership.user_id == User.id)
                                 .where(AccountMembership.account_id == account_id, User.id == user_id))).scalar()
    if row is None:
        raise NotFound("No such person in this account.")
    return row


async def set_permissions(db: Database, account_id: str, own: frozenset[str], user_id: int,
                          wanted: set[str]) -> None:
    """Grant and revoke within one's own permissions; what the admin does not hold stays as it is."""
    _within(own, wanted)
    async with db.write() as session:
        user = await _member(session, account_id, user_id)
        current = set((await session.execute(select(AccountMembership.permissions).where(
            AccountMembership.account_id == account_id, AccountMembership.user_id == user_id))).scalar_one().split())
        kept = current - own  # what the admin may not touch
        await accounts.grant_account(session, user.display_name, account_id, sorted(kept | wanted))


async def set_disabled(db: Database, account_id: str, self_id: int, user_id: int, disabled: bool) -> None:
    if user_id == self_id:
        raise BadRequest("You cannot disable yourself.", code="SELF")
    async with db.write() as session:
        user = await _member(session, account_id, user_id)
        user.disabled = disabled
        if disabled:  # signed out everywhere; tokens stop within a second (the security epoch)
            await session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user.id))
        await bump_security_epoch(session)
        await events.record(session, "user.disabled", object_id=str(user.id), account_id=account_id,
                            data={"userId": user.id, "disabled": disabled})


async def invitation_of(db: Database, token: str) -> tuple[Invitation, User] | None:
    """A live invitation (unused, not expired) a token names, or None."""
    invitation_id = token.partition(".")[0]
    if len(invitation_id) != 32 or len(token) > 80:
        return None
    async with db.read() as session:
        key = await client_secrets.key(session)
        if not hmac.compare_digest(invitation_token(key, invitation_id), token):
            return None
        row = (await session.execute(select(Invitation, User).join(User, User.id == Invitation.user_id)
                                     .where(Invitation.id == invitation_id))).first()
    if row is None or row[0].used_at is not None or row[0].expires_at < utcnow() or row[1].disabled:
        return None
    return row[0], row[1]


async def accept_invitation(db: Database, token: str, password: str) -> User:
    found = await invitation_of(db, token)
    if found is None:
        raise NotFound("This invitation is no longer valid: ask for a new one.", code="INVITATION_INVALID")
    invitation, user = found
    await set_password(db, user.display_name, password)
    async with db.write() as session:
        row = await session.get(Invitation, invitation.id, with_for_update=True)
        if row is None or row.used_at is not None:
            raise NotFound("This invitation is no longer valid: ask for a new one.", code="INVITATION_INVALID")
        row.used_at = utcnow()
    return user
