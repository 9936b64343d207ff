"""The security epoch: one counter that every change reaching per-process auth caches bumps (an
app disabled, a secret rotated, a grant changed). Plumbing shared by the domains that make such
changes (accounts, sites, auth), so it lives below all of them."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from gatehouse.kit.db import Base


class SecurityEpoch(Base):
    """A single counter bumped by every change that must reach per-process auth caches fast
    (app disabled, secret rotated, grants changed). Processes poll it at most every
    `auth_cache_seconds` and drop their caches when it moves."""

    __tablename__ = "security_epoch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


async def bump_security_epoch(session: AsyncSession) -> None:
    """Tell every process to drop its cached tokens and grants (see auth.service.AuthCache)."""
    await session.execute(update(SecurityEpoch).where(SecurityEpoch.id == 1).values(value=SecurityEpoch.value + 1))
