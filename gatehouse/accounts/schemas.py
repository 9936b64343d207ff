from __future__ import annotations

import re

from pydantic import BaseModel

# The shapes of the ids (SPEC §2): a header that is not one is malformed (400), one that is but may
# not be used is forbidden (403).
ACCOUNT_ID = re.compile(r"^[A-Za-z0-9]{18}$")
MASTER_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


class AccountOut(BaseModel):
    masterAccountId: str
    masterAccountName: str
    accountId: str
    accountName: str
    defaultAccount: bool
