"""The console's second factor (SPEC §16): TOTP (RFC 6238, pyotp), enrolled with a QR code and
confirmed with a first code; ten recovery codes shown once and stored hashed; at sign-in, after the
password, a second step that the password's lock-out also counts (one throttle per email typed)."""

from __future__ import annotations

import hashlib
import secrets
import time

import pyotp
from sqlalchemy import delete, select, update

from gatehouse.accounts.models import User
from gatehouse.config import Settings
from gatehouse.console.models import ConsoleSession, TotpFactor, TotpRecoveryCode
from gatehouse.events import service as events
from gatehouse.kit import lockout
from gatehouse.kit.db import Database, affected, utcnow
from gatehouse.kit.errors import BadRequest

ISSUER = "Gatehouse"
RECOVERY_CODES = 10
STEP = 30


def _hash(code: str) -> str:
    return hashlib.sha256(code.replace("-", "").strip().lower().encode()).hexdigest()


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def _step_matching(secret: str, code: str, now: float | None = None) -> int | None:
    """The time step a code belongs to (this one, or one either side for a clock a little off)."""
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp, now = pyotp.TOTP(secret), now or time.time()
    for drift in (0, -1, 1):
        at = now + drift * STEP
        if secrets.compare_digest(totp.at(at), code):
            return int(at // STEP)
    return None


async def has_factor(db: Database, user_id: int) -> bool:
    async with db.read() as session:
        return await session.get(TotpFactor, user_id) is not None


async def enrol(db: Database, user_id: int, secret: str, code: str) -> list[str]:
    """Confirm a new secret with a code from the app; store it; return the recovery codes (shown once)."""
    step = _step_matching(secret, code)
    if step is None:
        raise BadRequest("That code does not match: scan the QR code again and type the app's current code.",
                         code="TOTP_CODE_WRONG")
    # 80 random bits each, in four groups of five: a hash of them is not worth attacking
    codes = ["-".join(h[i:i + 5] for i in range(0, 20, 5)) for h in (secrets.token_hex(10)
                                                                    for _ in range(RECOVERY_CODES))]
    async with db.write() as session:
        await session.execute(delete(TotpFactor).where(TotpFactor.user_id == user_id))
        await session.execute(delete(TotpRecoveryCode).where(TotpRecoveryCode.user_id == user_id))
        session.add(TotpFactor(user_id=user_id, secret=secret, enrolled_at=utcnow(), last_step=step))
        session.add_all([TotpRecoveryCode(user_id=user_id, code_hash=_hash(c)) for c in codes])
        await events.record(session, "auth.totp_enrolled", object_id=str(user_id), data={"userId": user_id})
    return codes


async def remove(db: Database, user_id: int) -> None:
    async with db.write() as session:
        await session.execute(delete(TotpFactor).where(TotpFactor.user_id == user_id))
        await session.execute(delete(TotpRecoveryCode).where(TotpRecoveryCode.user_id == user_id))


class SecondStepRefused(Exception):
    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


async def second_step(db: Database, settings: Settings, session_token_hash: str, code: str) -> None:
    """The code (or a recovery code) for a session whose password was right: the session becomes whole.
    Failures count in the same lock-out as wrong passwords for this person's email."""
    from gatehouse.auth.models import SignInThrottle
    from gatehouse.console.auth import _throttle_key

    async with db.read() as session:
        row = (await session.execute(select(ConsoleSession, User).join(User, User.id == ConsoleSession.user_id)
                                     .where(ConsoleSession.token_hash == session_token_hash,
                                            ConsoleSession.second_factor_pending.is_(True)))).first()
    if row is None:
        raise SecondStepRefused("Sign in again.")
    _sess, user = row
    key = _throttle_key(user.email or "")
    attempt = await lockout.take(db, SignInThrottle, key, limit=settings.lockout_failures, create=True)
    if attempt.retry_after is not None:
        minutes = -(-attempt.retry_after // 60)
        raise SecondStepRefused(f"Too many failed sign-ins; try again in {minutes} minute{'s' * (minutes != 1)}.",
                                attempt.retry_after)
    async with db.write() as session:
        factor = await session.get(TotpFactor, user.id, with_for_update=True)
        step = _step_matching(factor.secret, code) if factor is not None else None
        ok = False
        if factor is not None and step is not None and step > factor.last_step:
            factor.last_step = step
            ok = True
        elif factor is not None and len(code.strip()) >= 10:
            used = await session.execute(update(TotpRecoveryCode).where(
                TotpRecoveryCode.user_id == user.id, TotpRecoveryCode.code_hash == _hash(code),
                TotpRecoveryCode.used_at.is_(None)).values(used_at=utcnow()).execution_options(
                synchronize_session=False))
            ok = affected(used) == 1
        if ok:
            await lockout.succeeded(session, SignInThrottle, key, attempt)
            await session.execute(update(ConsoleSession).where(ConsoleSession.token_hash == session_token_hash)
                                  .values(second_factor_pending=False))
    if not ok:
        await lockout.failed(db, SignInThrottle, key, attempt, seconds=settings.lockout_seconds)
        raise SecondStepRefused("That code is not right (or was used already).")
