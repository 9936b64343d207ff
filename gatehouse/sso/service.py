"""OpenID Connect sign-in (SPEC §16): the authorization code flow with PKCE, `state` and `nonce`
checked, the ID token's signature verified against the provider's published keys (joserfc, the
JOSE library of the Authlib project) and its claims (issuer, audience, expiry, nonce) checked. The
provider's configuration and keys are fetched and cached; an unknown key id fetches them again (the
provider rotated its keys). People are matched by their verified email; creating them on their first
sign-in is the provider's opt-in."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast
from urllib.parse import urlencode

import aiohttp
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, KeySetSerialization
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.accounts import service as accounts
from gatehouse.accounts.models import User
from gatehouse.events import service as events
from gatehouse.events.types import EventType
from gatehouse.kit.db import Database, utcnow
from gatehouse.kit.errors import BadRequest
from gatehouse.kit.outbound import Refused, check_url, pinned
from gatehouse.sso.models import OPERATORS, SsoLogin, SsoProvider

LOGIN_TTL = timedelta(minutes=10)
CACHE_SECONDS = 600
LEEWAY = 30  # seconds of clock difference allowed with the provider


class SsoRefused(Exception):
    """A sign-in that cannot be trusted; the message says why (to the person, and in the trail)."""


@dataclass
class _Issuer:
    config: dict[str, Any]
    keys: KeySet
    fetched: float


_issuers: dict[str, _Issuer] = {}


async def set_provider(session: AsyncSession, scope: str, *, name: str, issuer: str, client_id: str,
                       client_secret: str, email_claim: str = "email", create_users: bool = False,
                       allow_private: bool = False) -> SsoProvider:
    """`gatehouse admin sso set`: the master account's (or the operators') provider."""
    if scope != OPERATORS:
        await accounts.get_master_account(session, scope)
    reason = check_url(issuer, allow_private=allow_private)
    if reason:
        raise BadRequest(f"the issuer URL {reason}")
    if not client_id.strip() or not client_secret.strip():
        raise BadRequest("a client id and a client secret are needed")
    row = await session.get(SsoProvider, scope) or SsoProvider(scope=scope)
    row.name, row.issuer, row.client_id, row.client_secret = name.strip()[:80] or issuer, issuer.rstrip("/"), \
        client_id.strip(), client_secret.strip()
    row.email_claim, row.create_users, row.updated_at = email_claim.strip() or "email", create_users, utcnow()
    session.add(row)
    await session.flush()
    await events.record(session, EventType.SSO_CHANGED, object_id=scope,
                        data={"scope": scope, "issuer": row.issuer, "clientId": row.client_id,
                              "createUsers": create_users})
    return row


async def provider_of(db: Database, scope: str) -> SsoProvider | None:
    async with db.read() as session:
        return await session.get(SsoProvider, scope[:40])


MAX_ANSWER = 1024 * 1024  # a provider's configuration, keys or tokens: never more than this


async def _get_json(url: str, allow_private: bool, *, data: dict[str, str] | None = None,
                    headers: dict[str, str] | None = None, basic: tuple[str, str] | None = None) -> dict[str, Any]:
    """A GET (or a form POST with `data`) to the provider, never to an address it may not reach:
    the name is resolved and checked, then that very address is connected to (kit/outbound.py, as
    webhook deliveries do)."""
    reason = check_url(url, allow_private=allow_private)
    if reason:
        raise SsoRefused(f"The identity provider's address {reason}.")
    try:
        to = await pinned(url, allow_private=allow_private)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as client, client.request(
                "POST" if data is not None else "GET", to.url, data=data, headers={
                    **(headers or {}), "host": to.host,
                    **({"authorization": aiohttp.encode_basic_auth(*basic)} if basic else {})}, allow_redirects=False,
                server_hostname=to.server_hostname) as r:
            status = r.status
            body = bytearray()
            async for chunk in r.content.iter_any():
                body += chunk
                if len(body) > MAX_ANSWER:
                    raise SsoRefused("The identity provider's answer is too large.")
    except (Refused, aiohttp.ClientError, TimeoutError) as exc:
        raise SsoRefused(f"The identity provider could not be reached: {exc or type(exc).__name__}") from None
    if status != 200:
        raise SsoRefused(f"The identity provider answered {status}: {bytes(body[:200]).decode(errors='replace')}")
    try:
        found = json.loads(body)
    except ValueError:
        raise SsoRefused("The identity provider's answer is not JSON.") from None
    if not isinstance(found, dict):
        raise SsoRefused("The identity provider's answer is not a JSON object.")
    return found


async def _issuer(issuer: str, allow_private: bool, *, refresh: bool = False) -> _Issuer:
    cached = _issuers.get(issuer)
    if cached is not None and not refresh and time.monotonic() - cached.fetched < CACHE_SECONDS:
        return cached
    config = await _get_json(f"{issuer}/.well-known/openid-configuration", allow_private)
    if config.get("issuer", "").rstrip("/") != issuer:
        raise SsoRefused("The identity provider's configuration names another issuer.")
    try:
        keys = KeySet.import_key_set(cast(KeySetSerialization, await _get_json(config["jwks_uri"], allow_private)))
    except (KeyError, ValueError, JoseError) as exc:
        raise SsoRefused(f"The identity provider's keys cannot be read: {exc}") from None
    found = _issuers[issuer] = _Issuer(config, keys, time.monotonic())
    return found


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


async def start(db: Database, scope: str, redirect_uri: str, next_page: str, allow_private: bool) -> str:
    """The provider's authorization URL for a new sign-in (its state, nonce and verifier kept here)."""
    provider = await provider_of(db, scope)
    if provider is None:
        raise SsoRefused("No single sign-on is set up for this.")
    issuer = await _issuer(provider.issuer, allow_private)
    state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48)
    async with db.write() as session:
        await session.execute(delete(SsoLogin).where(SsoLogin.created_at < utcnow() - LOGIN_TTL))
        session.add(SsoLogin(state=state, scope=provider.scope, nonce=nonce, code_verifier=verifier,
                             redirect_uri=redirect_uri, next_page=next_page, created_at=utcnow()))
    query = {"response_type": "code", "client_id": provider.client_id, "redirect_uri": redirect_uri,
             "scope": "openid email", "state": state, "nonce": nonce, "prompt": "login",
             "code_challenge": _b64(hashlib.sha256(verifier.encode()).digest()), "code_challenge_method": "S256"}
    return f"{issuer.config['authorization_endpoint']}?{urlencode(query)}"


def verify_id_token(id_token: str, keys: KeySet, *, issuer: str, client_id: str, nonce: str,
                    now: int | None = None) -> dict[str, Any]:
    """The ID token's claims once its signature (the provider's keys) and claims hold (OIDC Core
    3.1.3.7): the issuer, this client in the audience, not expired, the nonce of this sign-in."""
    try:
        token = jwt.decode(id_token, keys, algorithms=["RS256", "ES256", "PS256", "EdDSA"])
    except (JoseError, ValueError) as exc:
        raise SsoRefused(f"The ID token's signature does not verify: {exc}") from None
    registry = jwt.JWTClaimsRegistry(now=now, leeway=LEEWAY, iss={"essential": True, "value": issuer},
                                     aud={"essential": True, "value": client_id}, exp={"essential": True},
                                     nonce={"essential": True, "value": nonce})
    try:
        registry.validate(token.claims)
    except JoseError as exc:
        raise SsoRefused(f"The ID token was refused: {exc.description or exc.error}") from None
    azp = token.claims.get("azp")
    if isinstance(token.claims.get("aud"), list) and len(token.claims["aud"]) > 1 and azp != client_id:
        raise SsoRefused("The ID token was issued to another client.")
    return dict(token.claims)


async def finish(db: Database, state: str, code: str, allow_private: bool) -> tuple[User, str]:
    """The person a provider's answer signs in, and the page to open: SsoRefused for anything wrong."""
    async with db.write() as session:  # a state is used once, whatever happens next
        login = await session.get(SsoLogin, state[:64], with_for_update=True) if state else None
        if login is not None:
            await session.delete(login)
    if login is None or utcnow() - login.created_at > LOGIN_TTL:
        raise SsoRefused("This sign-in is unknown or has expired (state): start again.")
    provider = await provider_of(db, login.scope)
    if provider is None:
        raise SsoRefused("No single sign-on is set up for this.")
    issuer = await _issuer(provider.issuer, allow_private)
    token = await _get_json(issuer.config["token_endpoint"], allow_private, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": login.redirect_uri,
        "code_verifier": login.code_verifier}, basic=(provider.client_id, provider.client_secret))
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        raise SsoRefused("The identity provider sent no ID token.")
    try:
        claims = verify_id_token(id_token, issuer.keys, issuer=provider.issuer, client_id=provider.client_id,
                                 nonce=login.nonce)
    except SsoRefused as exc:
        if "signature" not in str(exc):
            raise
        issuer = await _issuer(provider.issuer, allow_private, refresh=True)  # the provider rotated its keys
        claims = verify_id_token(id_token, issuer.keys, issuer=provider.issuer, client_id=provider.client_id,
                                 nonce=login.nonce)
    if provider.email_claim not in claims and issuer.config.get("userinfo_endpoint") and token.get("access_token"):
        # many providers keep the ID token small and give the profile at UserInfo (OIDC Core 5.3): the
        # same person only (its `sub` must be the ID token's)
        info = await _get_json(issuer.config["userinfo_endpoint"], allow_private,
                               headers={"Authorization": f"Bearer {token['access_token']}"})
        if info.get("sub") != claims.get("sub"):
            raise SsoRefused("The identity provider's UserInfo names another person than its ID token.")
        claims = {**info, **claims}
    email = claims.get(provider.email_claim)
    if not isinstance(email, str) or "@" not in email:
        raise SsoRefused(f"The identity provider did not say who this is (no '{provider.email_claim}' claim).")
    if claims.get("email_verified") is not True:
        raise SsoRefused("The identity provider has not verified this email address.")
    return await _person(db, provider, email), login.next_page


async def _person(db: Database, provider: SsoProvider, email: str) -> User:
    operators = provider.scope == OPERATORS
    async with db.write() as session:
        stmt = select(User).where(func.lower(User.email) == email.lower(),
                                  User.kind == ("operator" if operators else "customer"))
        if not operators:
            stmt = stmt.where(User.master_account_id == provider.scope)
        user = (await session.execute(stmt)).scalar_one_or_none()
        if user is None and provider.create_users:
            name = f"{email.split('@')[0][:30]} {secrets.token_hex(2)}"
            user = (await accounts.create_operator(session, name, [], email) if operators
                    else await accounts.create_user(session, name, provider.scope, email))
            await events.record(session, EventType.SSO_USER_CREATED, object_id=str(user.id),
                                data={"userId": user.id, "scope": provider.scope})
    if user is None:
        raise SsoRefused(f"No one with the email {email} may sign in here; ask your administrator.")
    if user.disabled:
        raise SsoRefused("This person is disabled.")
    return user
