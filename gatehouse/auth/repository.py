"""Auth queries: apps, tokens and the principal behind them."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.accounts.models import Account, AccountMembership, OperatorSite, User
from gatehouse.auth.models import AccessToken, App, SignInThrottle
from gatehouse.kit.db import affected
from gatehouse.kit.epoch import SecurityEpoch
from gatehouse.kit.leanread import Rows


async def apps(session: AsyncSession) -> list[dict]:
    rows = await session.execute(select(App.client_id, App.name, User.display_name, App.enabled, App.locked_until)
                                 .join(User, User.id == App.user_id).order_by(App.id))
    return [{"client_id": r[0], "name": r[1], "user": r[2], "enabled": r[3], "lockedUntil": r[4]} for r in rows]


async def app_by_client_id(session: AsyncSession, client_id: str) -> App | None:
    return (await session.execute(select(App).where(App.client_id == client_id))).scalar_one_or_none()


async def first_account_of(session: AsyncSession, user_id: int) -> str | None:
    return (await session.execute(select(AccountMembership.account_id).where(AccountMembership.user_id == user_id)
                                  .order_by(AccountMembership.account_id).limit(1))).scalar()


async def set_secret_hash(session: AsyncSession, app_id: int, secret_hash: str) -> None:
    await session.execute(update(App).where(App.id == app_id).values(secret_hash=secret_hash))


async def drop_tokens_of_app(session: AsyncSession, app_id: int) -> None:
    await session.execute(delete(AccessToken).where(AccessToken.app_id == app_id))


async def purge_expired_tokens(session: AsyncSession, now: datetime) -> int:
    tokens = affected(await session.execute(delete(AccessToken).where(AccessToken.expires_at <= now)))
    # sign-in counters with nothing left to count, and locks long over
    await session.execute(delete(SignInThrottle).where(
        (SignInThrottle.locked_until.is_(None) & (SignInThrottle.failed_attempts == 0))
        | (SignInThrottle.locked_until < now - timedelta(days=1))))
    return tokens


# Statements written once, run by the lean reader (the token path) or in an ORM session (SessionRows)
APP_BY_CLIENT_ID = (
    select(App.id, App.client_id, App.secret_hash, App.enabled, App.failed_attempts, App.locked_until, App.strict,
           User.id.label("user_id"), User.kind, User.display_name, User.master_account_id, User.disabled,
           User.operator_roles)
    .join(User, User.id == App.user_id).where(App.client_id == bindparam("client_id")))
OPERATOR_SITES = select(OperatorSite.site_code).where(OperatorSite.user_id == bindparam("user_id"))
MEMBERSHIPS = (select(AccountMembership.account_id, Account.master_account_id, AccountMembership.permissions)
               .join(Account, Account.id == AccountMembership.account_id)
               .where(AccountMembership.user_id == bindparam("user_id")))


async def app_with_user(runner, client_id: str) -> tuple[SimpleNamespace, SimpleNamespace] | None:
    """(app, user) as plain records: what a token request needs of both, in one query."""
    found = await runner.rows(APP_BY_CLIENT_ID, client_id=client_id)
    if not found:
        return None
    r = found[0]
    app = SimpleNamespace(id=r["id"], client_id=r["client_id"], secret_hash=r["secret_hash"], enabled=r["enabled"],
                          failed_attempts=r["failed_attempts"], locked_until=r["locked_until"],
                          strict=bool(r["strict"]))
    user = SimpleNamespace(id=r["user_id"], kind=r["kind"], display_name=r["display_name"],
                           master_account_id=r["master_account_id"], disabled=r["disabled"],
                           operator_roles=r["operator_roles"] or "")
    return app, user


async def operator_sites_of(runner, user_id: int) -> frozenset[str]:
    return frozenset(r["site_code"] for r in await runner.rows(OPERATOR_SITES, user_id=user_id))


async def memberships_of(runner, user_id: int) -> list[tuple[str, str, str]]:
    return [(r["account_id"], r["master_account_id"], r["permissions"])
            for r in await runner.rows(MEMBERSHIPS, user_id=user_id)]


SECURITY_EPOCH = select(SecurityEpoch.value).where(SecurityEpoch.id == bindparam("id"))


async def security_epoch(runner: Rows) -> int | None:
    found = await runner.rows(SECURITY_EPOCH, id=1)
    return found[0]["value"] if found else None


async def token_with_epoch(session: AsyncSession, digest: str):
    """The token row and the security epoch in ONE statement, so from one snapshot: a revocation
    (which deletes the row and bumps the epoch in one transaction) is wholly visible or not at all."""
    return (await session.execute(
        select(AccessToken.expires_at, App, User, SecurityEpoch.value)
        .join(App, App.id == AccessToken.app_id).join(User, User.id == App.user_id)
        .join(SecurityEpoch, SecurityEpoch.id == 1).where(AccessToken.token_hash == digest))).first()


async def accounts_held(session: AsyncSession, user_id: int):
    """(account id, master account id, account name, permissions) of each account the user holds."""
    return (await session.execute(
        select(AccountMembership.account_id, Account.master_account_id, Account.name, AccountMembership.permissions)
        .join(Account, Account.id == AccountMembership.account_id)
        .where(AccountMembership.user_id == user_id).order_by(Account.name, Account.id))).all()


async def apps_of_user(session: AsyncSession, user_id: int) -> list[App]:
    return list((await session.execute(select(App).where(App.user_id == user_id).order_by(App.created_at, App.id)))
                .scalars())
