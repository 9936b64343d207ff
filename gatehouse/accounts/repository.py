from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.accounts.models import Account, AccountMembership, MasterAccount
from gatehouse.kit.leanread import Rows


async def accounts_of_user(session: AsyncSession, user_id: int, *, default_only: bool = False) -> Sequence[Row]:
    stmt = (
        select(MasterAccount.id, MasterAccount.name, Account.id, Account.name, AccountMembership.default_account)
        .join(Account, Account.id == AccountMembership.account_id)
        .join(MasterAccount, MasterAccount.id == Account.master_account_id)
        .where(AccountMembership.user_id == user_id)
        .order_by(Account.id)
    )
    if default_only:
        stmt = stmt.where(AccountMembership.default_account.is_(True))
    return (await session.execute(stmt)).all()


# --- listings for the admin CLI --------------------------------------------------------------------


async def master_accounts(session: AsyncSession) -> list[dict]:
    from gatehouse.accounts.models import MasterAccount

    rows = await session.execute(select(MasterAccount.id, MasterAccount.name).order_by(MasterAccount.id))
    return [{"masterAccountId": r[0], "name": r[1]} for r in rows]


async def accounts(session: AsyncSession) -> list[dict]:
    from gatehouse.accounts.models import Account

    rows = await session.execute(select(Account.id, Account.master_account_id, Account.name, Account.auto_approve)
                                 .order_by(Account.id))
    return [{"accountId": r[0], "masterAccountId": r[1], "name": r[2], "autoApprove": r[3]} for r in rows]


async def customer_users(session: AsyncSession) -> list[dict]:
    from gatehouse.accounts.models import AccountMembership, User

    users = (await session.execute(select(User).where(User.kind == "customer").order_by(User.id))).scalars().all()
    grants = (await session.execute(select(AccountMembership))).scalars().all()
    return [{"userId": u.id, "name": u.display_name, "masterAccountId": u.master_account_id, "email": u.email,
             "disabled": u.disabled,
             "accounts": {g.account_id: g.permissions.split() for g in grants if g.user_id == u.id}} for u in users]


async def operators(session: AsyncSession) -> list[dict]:
    from gatehouse.accounts.models import OperatorSite, User

    ops = (await session.execute(select(User).where(User.kind == "operator").order_by(User.id))).scalars().all()
    links = (await session.execute(select(OperatorSite))).scalars().all()
    return [{"userId": u.id, "name": u.display_name, "email": u.email,
             "sites": sorted(x.site_code for x in links if x.user_id == u.id), "roles": u.operator_roles.split()}
            for u in ops]


AUTO_APPROVE = select(Account.auto_approve).where(Account.id == bindparam("account_id"))


def auto_approve_read(account_id: str) -> tuple[Any, dict[str, Any]]:
    """`account_auto_approves`'s read, for a caller that makes its reads ahead (LeanReader.read_ahead)."""
    return AUTO_APPROVE, {"account_id": account_id}


async def account_auto_approves(runner: Rows, account_id: str) -> bool:
    """Whether the account's new requests are approved at once (the lean reader: the create path)."""
    found = await runner.rows(AUTO_APPROVE, account_id=account_id)
    return bool(found and found[0]["auto_approve"])


# --- the operator admin's console pages (SPEC §16): searched and paged ------------------------------


def _like(q: str) -> str:
    return "%" + q.lower().replace("\\", "").replace("%", "").replace("_", "") + "%"


async def masters_page(session: AsyncSession, q: str, page: int, size: int) -> tuple[list[Row], int]:
    from sqlalchemy import func, or_

    where = [or_(func.lower(MasterAccount.id).like(_like(q)), func.lower(MasterAccount.name).like(_like(q)))] if q else []
    total = (await session.execute(select(func.count()).select_from(MasterAccount).where(*where))).scalar() or 0
    n_accounts = (select(func.count()).select_from(Account).where(Account.master_account_id == MasterAccount.id)
                  .scalar_subquery())
    rows = (await session.execute(select(MasterAccount, n_accounts).where(*where).order_by(MasterAccount.name,
                                  MasterAccount.id).limit(size).offset(page * size))).all()
    return list(rows), total


async def master_people(session: AsyncSession, master_id: str) -> list[tuple]:
    """(user, {account id: permissions}) of a master account's people."""
    from gatehouse.accounts.models import User

    users = (await session.execute(select(User).where(User.master_account_id == master_id)
                                   .order_by(User.display_name))).scalars().all()
    grants = (await session.execute(select(AccountMembership).where(
        AccountMembership.user_id.in_([u.id for u in users])))).scalars().all() if users else []
    return [(u, {g.account_id: g.permissions.split() for g in grants if g.user_id == u.id}) for u in users]


async def accounts_of_master(session: AsyncSession, master_id: str) -> list[Account]:
    return list((await session.execute(select(Account).where(Account.master_account_id == master_id)
                                       .order_by(Account.name, Account.id))).scalars())


async def operators_page(session: AsyncSession, q: str, page: int, size: int) -> tuple[list[dict], int]:
    from sqlalchemy import func, or_

    from gatehouse.accounts.models import OperatorSite, User

    where = [User.kind == "operator"]
    if q:
        where.append(or_(func.lower(User.display_name).like(_like(q)), func.lower(func.coalesce(User.email, ""))
                         .like(_like(q))))
    total = (await session.execute(select(func.count()).select_from(User).where(*where))).scalar() or 0
    ops = (await session.execute(select(User).where(*where).order_by(User.display_name).limit(size)
                                 .offset(page * size))).scalars().all()
    links = (await session.execute(select(OperatorSite).where(OperatorSite.user_id.in_([u.id for u in ops])))
             ).scalars().all() if ops else []
    return [{"userId": u.id, "name": u.display_name, "email": u.email or "", "disabled": u.disabled,
             "roles": u.operator_roles.split(), "sites": sorted(x.site_code for x in links if x.user_id == u.id)}
            for u in ops], total
