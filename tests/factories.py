"""Factories: build a tenant (master account, account, user, app, token, sites) in one call."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, field

import httpx

from gatehouse.accounts import service as accounts
from gatehouse.auth import service as auth
from gatehouse.kit.db import Database
from gatehouse.sites import service as sites

ALL_CUSTOMER_PERMS = ["visitor-access:request", "visitor-access:approve", "tickets:read", "attachments:write",
                      "audit:read", "webhooks:manage", "notifications:read", "pop-poe:request",
                      "permanent-badge:request", "permanent-badge:approve"]
_ALNUM = string.ascii_uppercase + string.digits


def rand(n: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(n))


@dataclass
class Caller:
    name: str
    client_id: str
    client_secret: str
    token: str = ""
    master_account_id: str | None = None
    account_id: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self.token}"}
        if self.account_id:
            h.update({"Master-Account-Id": self.master_account_id or "", "Account-Id": self.account_id})
        return h

    @property
    def token_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Tenant:
    master_account_id: str
    account_id: str
    sites: dict[str, list[str]] = field(default_factory=dict)  # site -> granted location names
    users: dict[str, Caller] = field(default_factory=dict)


class Factory:
    def __init__(self, db: Database, client: httpx.AsyncClient) -> None:
        self.db = db
        self.client = client

    async def site(self, timezone: str = "America/New_York", locations: list[str] | tuple = ("Cage A",),
                   code: str | None = None, checks: bool = False) -> str:
        """`checks`: the site asks for the identity and escort checks at check-in (SPEC §14; on by
        default in a real install). Off here, so that tests about other things check in with a badge."""
        code = code or rand(6)
        async with self.db.write() as s:
            site = await sites.create_site(s, code, address=f"{code} Street 1", city="City", metro="Metro",
                                           country="United States", timezone=timezone)
            site.require_identity_check = site.require_escort_confirmation = checks
            for loc in locations:
                await sites.create_location(s, code, loc)
        return code

    async def tenant(self, *, perms: list[str] | None = None, site_count: int = 1,
                     timezone: str = "America/New_York", auto_approve: bool = False,
                     locations: tuple[str, ...] = ("Cage A", "Cage B"), checks: bool = False) -> Tenant:
        master_id = rand(6)
        account_id = rand(18)
        async with self.db.write() as s:
            await accounts.create_master_account(s, master_id, f"Master {master_id}")
            await accounts.create_account(s, account_id, master_id, f"Account {account_id}", auto_approve)
        tenant = Tenant(master_id, account_id)
        for _ in range(site_count):
            code = await self.site(timezone=timezone, locations=locations, checks=checks)
            async with self.db.write() as s:
                for loc in locations:
                    await sites.grant_location(s, account_id, code, loc)
            tenant.sites[code] = list(locations)
        await self.user(tenant, perms=perms if perms is not None else ALL_CUSTOMER_PERMS)
        return tenant

    async def user(self, tenant: Tenant, *, perms: list[str], name: str | None = None) -> Caller:
        name = name or f"User {rand(8)}"
        async with self.db.write() as s:
            user = await accounts.create_user(s, name, tenant.master_account_id)
            await accounts.grant_account(s, name, tenant.account_id, perms, default=True)
            creds = await auth.create_app(s, user.id)
        caller = Caller(name, creds.client_id, creds.client_secret,
                        master_account_id=tenant.master_account_id, account_id=tenant.account_id)
        caller.token = await self.token(caller)
        tenant.users[name] = caller
        return caller

    async def operator(self, sites_: list[str], name: str | None = None, roles: tuple[str, ...] = ("desk",)
                       ) -> Caller:
        name = name or f"Operator {rand(8)}"
        async with self.db.write() as s:
            user = await accounts.create_operator(s, name, sites_, roles=roles)
            creds = await auth.create_app(s, user.id)
        caller = Caller(name, creds.client_id, creds.client_secret)
        caller.token = await self.token(caller)
        return caller

    async def token(self, caller: Caller) -> str:
        r = await self.client.post("/v2/auth/token", data={
            "grant_type": "client_credentials", "client_id": caller.client_id,
            "client_secret": caller.client_secret})
        assert r.status_code == 200, r.text
        return r.json()["access_token"]


async def make_ticket(db: Database, tenant: Tenant, *, status: str = "Approved", site: str | None = None,
                      requester: str | None = None, badge_start=None, badge_end=None, access_start=None,
                      access_end=None, extended: bool = False) -> str:
    """A work order written straight to the database (for tests of domains that act on tickets
    without going through the create endpoint). Counters and the creation event are kept."""
    import random
    from datetime import timedelta

    from sqlalchemy import select

    from gatehouse.facility_access import lifecycle
    from gatehouse.facility_access.models import WorkOrder, WorkOrderLocation
    from gatehouse.kit.db import utcnow
    from gatehouse.sites.models import Location

    site = site or next(iter(tenant.sites))
    loc_name = tenant.sites[site][0]
    user = tenant.users[requester] if requester else next(iter(tenant.users.values()))
    from gatehouse.kit.sitetime import site_today
    from gatehouse.sites.models import Site

    async with db.read() as s:
        timezone = (await s.get(Site, site)).timezone
    today = site_today(timezone)  # the site's own today, as the desk and the rules see it
    badge_start = badge_start or today
    badge_end = badge_end or badge_start + timedelta(days=1)
    now = utcnow()
    async with db.write() as s:
        from gatehouse.accounts.models import User

        user_row = (await s.execute(select(User).where(User.display_name == user.name))).scalar_one()
        loc = (await s.execute(select(Location).where(Location.site_code == site,
                                                      Location.name == loc_name))).scalar_one()
        wo_id = f"WO{random.randint(0, 9_999_999):07d}"
        while await s.get(WorkOrder, wo_id) is not None:
            wo_id = f"WO{random.randint(0, 9_999_999):07d}"
        ticket = WorkOrder(
            id=wo_id, account_id=tenant.account_id, master_account_id=tenant.master_account_id, site_code=site,
            status=status, created_by_user_id=user_row.id, requester=user.name, created_at=now, updated_at=now,
            modified_by=user.name, visitor_first_name="Jake", visitor_last_name="Doe",
            visitor_email="jake_doe@email.com", visitor_phone="1234567890", escorted=not extended,
            escort_first_name="" if extended else "Jane", escort_last_name="" if extended else "Doe", host_first_name="John", host_last_name="Doe",
            host_company="ABC Company", company="DEF Company", badge_start=badge_start, badge_end=badge_end,
            extended_badge=extended, bulk_request=False, email_notifications="", notes="Datacenter Tour",
            title=f"Jake Doe going to visit {site} - {loc_name} on {badge_start.strftime('%m/%d/%Y')}",
            location_summary=loc_name,
            closed_at=now if status in ("Completed", "Cancelled", "Approval Denied") else None,
        )
        s.add(ticket)
        await s.flush()
        s.add(WorkOrderLocation(work_order_id=wo_id, location_id=loc.id, location_name=loc_name,
                                access_start=access_start or badge_start, access_end=access_end or badge_end))
        await lifecycle.record_created(s, ticket, actor_user_id=user_row.id)
    return wo_id
