from __future__ import annotations

from pydantic import BaseModel


class AccountOut(BaseModel):
    masterAccountId: str
    masterAccountName: str
    accountId: str
    accountName: str
    defaultAccount: bool
