"""Administration of tenancy: master accounts, accounts, users, operators and their grants.
Used by the admin CLI and the demo; every grant change reaches running processes through the
security epoch."""

from __future__ import annotations

from collections.abc import Iterable

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.accounts.models import (
    OPERATOR_ROLES,
    PERMISSIONS,
    Account,
    AccountMembership,
    MasterAccount,
    OperatorSite,
    SignInPolicy,
    User,
)
from gatehouse.accounts.schemas import ACCOUNT_ID, MASTER_ID
from gatehouse.events import service as events
from gatehouse.events.types import EventType
from gatehouse.kit.epoch import bump_security_epoch
from gatehouse.kit.errors import BadRequest, Conflict, NotFound

_ACCOUNT_ID = ACCOUNT_ID
_MASTER_ID = MASTER_ID


async def create_master_account(session: AsyncSession, master_id: str, name: str) -> MasterAccount:
    if not _MASTER_ID.match(master_id):
        raise BadRequest("master account id must be 1-40 letters, digits, '-' or '_'")
    if await session.get(MasterAccount, master_id):
        raise Conflict(f"master account {master_id} already exists")
    row = MasterAccount(id=master_id, name=_name(name, 120))
    session.add(row)
    await session.flush()
    await events.record(session, EventType.ACCOUNT_CHANGED, object_id=master_id,
                        data={"masterAccountId": master_id, "change": "created"})
    return row


async def create_account(session: AsyncSession, account_id: str, master_id: str, name: str,
                         auto_approve: bool = False) -> Account:
    if not _ACCOUNT_ID.match(account_id):
        raise BadRequest("account id must be exactly 18 letters or digits")
    await get_master_account(session, master_id)
    if await session.get(Account, account_id):
        raise Conflict(f"account {account_id} already exists")
    row = Account(id=account_id, master_account_id=master_id, name=_name(name, 120), auto_approve=auto_approve)
    session.add(row)
    await session.flush()
    await events.record(session, EventType.ACCOUNT_CHANGED, object_id=account_id, account_id=account_id,
                        data={"accountId": account_id, "masterAccountId": master_id, "change": "created",
                              "autoApprove": auto_approve})
    return row


async def set_auto_approve(session: AsyncSession, account_id: str, enabled: bool) -> Account:
    account = await get_account(session, account_id)
    if account.auto_approve != enabled:
        account.auto_approve = enabled
        await events.record(session, EventType.ACCOUNT_CHANGED, object_id=account_id, account_id=account_id,
                            data={"accountId": account_id, "autoApprove": enabled})
    return account


async def set_require_totp(session: AsyncSession, master_id: str, required: bool) -> MasterAccount:
    """Its people's console sign-ins need a second factor (SPEC §16): they enrol at their next page."""
    master = await get_master_account(session, master_id)
    if master.require_totp != required:
        master.require_totp = required
        await events.record(session, EventType.SIGN_IN_POLICY_CHANGED, object_id=master_id,
                            data={"masterAccountId": master_id, "requireTotp": required})
    return master


async def set_operators_require_totp(session: AsyncSession, required: bool) -> None:
    policy = await session.get(SignInPolicy, 1)
    if policy is None:
        policy = SignInPolicy(id=1, operators_require_totp=False)
        session.add(policy)
    if policy.operators_require_totp != required:
        policy.operators_require_totp = required
        await events.record(session, EventType.SIGN_IN_POLICY_CHANGED, object_id="operators",
                            data={"operatorsRequireTotp": required})


async def set_operator(session: AsyncSession, user_id: int, *, roles: Iterable[str], sites: Iterable[str]) -> User:
    """An operator's roles and sites (the caller checks the sites exist); tokens see it within a second."""
    user = await session.get(User, user_id)
    if user is None or user.kind != "operator":
        raise NotFound(f"no operator {user_id}")
    user.operator_roles = checked_roles(roles)
    wanted = set(sites)
    have = {s.site_code: s for s in (await session.execute(select(OperatorSite).where(
        OperatorSite.user_id == user_id))).scalars()}
    for code in wanted - have.keys():
        session.add(OperatorSite(user_id=user_id, site_code=code))
    for code in have.keys() - wanted:
        await session.delete(have[code])
    await session.flush()
    await bump_security_epoch(session)
    await events.record(session, EventType.OPERATOR_CHANGED, object_id=str(user_id),
                        data={"userId": user_id, "roles": user.operator_roles.split(), "sites": sorted(wanted)})
    return user


async def create_user(session: AsyncSession, display_name: str, master_id: str, email: str | None = None) -> User:
    await get_master_account(session, master_id)
    user = await _new_user(session, display_name, kind="customer", master_id=master_id)
    user.email = checked_email(email)
    return user


def checked_email(email: str | None) -> str | None:
    """Syntax only (no DNS): '' or None clears it."""
    if not email:
        return None
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise BadRequest(f"'{email}' is not an email address: {exc}") from None


async def set_email(session: AsyncSession, display_name: str, email: str | None) -> User:
    user = await get_user(session, display_name)
    user.email = checked_email(email)
    return user


def checked_roles(roles: Iterable[str]) -> str:
    wanted = sorted(set(roles))
    unknown = [r for r in wanted if r not in OPERATOR_ROLES]
    if unknown or not wanted:
        raise BadRequest(f"operator roles must be some of {', '.join(OPERATOR_ROLES)}"
                         + (f"; unknown: {', '.join(unknown)}" if unknown else ""))
    return " ".join(wanted)


async def create_operator(session: AsyncSession, display_name: str, sites: Iterable[str],
                          email: str | None = None, roles: Iterable[str] = ("desk",)) -> User:
    """The caller checks that the sites exist (sites.service.get_site): tenancy sits below sites."""
    user = await _new_user(session, display_name, kind="operator", master_id=None)
    user.email = checked_email(email)
    user.operator_roles = checked_roles(roles)
    for code in sites:
        session.add(OperatorSite(user_id=user.id, site_code=code))
    await session.flush()
    await events.record(session, EventType.OPERATOR_CHANGED, object_id=str(user.id),
                        data={"userId": user.id, "change": "created", "roles": user.operator_roles.split(),
                              "sites": sorted(sites)})
    return user


async def grant_account(session: AsyncSession, display_name: str, account_id: str,
                        permissions: Iterable[str], default: bool = False) -> AccountMembership:
    user = await get_user(session, display_name)
    account = await get_account(session, account_id)
    if user.kind != "customer":
        raise BadRequest("only customer users are granted accounts; operators are scoped to sites")
    if user.master_account_id != account.master_account_id:
        raise BadRequest(f"account {account_id} belongs to another master account than {display_name}")
    perms = sorted(set(permissions))
    unknown = [p for p in perms if p not in PERMISSIONS]
    if unknown:
        raise BadRequest(f"unknown permission(s) {', '.join(unknown)}; known: {', '.join(PERMISSIONS)}")
    membership = (await session.execute(select(AccountMembership).where(
        AccountMembership.user_id == user.id, AccountMembership.account_id == account_id))).scalar_one_or_none()
    if membership is None:
        membership = AccountMembership(user_id=user.id, account_id=account_id)
        session.add(membership)
    membership.permissions = " ".join(perms)
    membership.default_account = default
    await session.flush()
    await bump_security_epoch(session)
    await events.record(session, "grant.changed", object_id=str(user.id), account_id=account_id,
                        data={"userId": user.id, "permissions": perms, "kind": "account"})
    return membership


async def get_master_account(session: AsyncSession, master_id: str) -> MasterAccount:
    row = await session.get(MasterAccount, master_id)
    if row is None:
        raise NotFound(f"master account {master_id} does not exist")
    return row


async def get_account(session: AsyncSession, account_id: str) -> Account:
    row = await session.get(Account, account_id)
    if row is None:
        raise NotFound(f"account {account_id} does not exist")
    return row


async def get_user(session: AsyncSession, display_name: str) -> User:
    row = (await session.execute(select(User).where(User.display_name == display_name))).scalar_one_or_none()
    if row is None:
        raise NotFound(f"user '{display_name}' does not exist")
    return row


async def _new_user(session: AsyncSession, display_name: str, *, kind: str, master_id: str | None) -> User:
    name = _name(display_name, 40)
    if (await session.execute(select(User.id).where(User.display_name == name))).first():
        raise Conflict(f"a user named '{name}' already exists")
    user = User(display_name=name, kind=kind, master_account_id=master_id, disabled=False)
    session.add(user)
    await session.flush()
    return user


def _name(value: str, limit: int) -> str:
    value = value.strip()
    if not value or len(value) > limit:
        raise BadRequest(f"name must be 1-{limit} characters")
    return value
