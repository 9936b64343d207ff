from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.accounts.models import Account, AccountMembership, MasterAccount


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
