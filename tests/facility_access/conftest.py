from __future__ import annotations

import copy
from datetime import timedelta

import pytest

SEED_CREATE = [{
    "visitors": [{"visitorFirstName": "Jake", "visitorLastName": "Doe", "visitorEmail": "jake_doe@email.com",
                  "visitorPhone": "1234567890"}],
    "sites": [{"site": "IAD024", "locations": [{"location": "ABC Cage F150-B", "accessStartDate": "2024-07-30",
                                               "accessEndDate": "2024-07-30"}]}],
    "visitorType": True, "escortFirstName": "Jane", "escortLastName": "Doe", "visitorHostFirstName": "John",
    "visitorHostLastName": "Doe", "visitorHostCompany": "ABC Company", "visitorBadgeStartDate": "2023-06-07",
    "visitorBadgeEndDate": "2023-06-07", "company": "DEF Company",
    "emailNotifications": "jane_doe@email.com,test@email.com", "notes": "Datacenter Tour",
    "isExtendedVisitorBadge": False, "isBulkRequest": False,
}]


def day(offset: int = 0) -> str:
    """A date relative to today at the tests' default sites (America/New_York), not the machine's
    UTC date: between 00:00 and 05:00 UTC they differ, and a check-in must fall on the site's day."""
    from gatehouse.kit.sitetime import site_today

    return (site_today("America/New_York") + timedelta(days=offset)).isoformat()


def request_for(tenant, *, visitors: int = 1, site: str | None = None, locations: list[str] | None = None,
                start: int = 1, end: int = 1, **overrides) -> dict:  # type: ignore[no-untyped-def]
    site = site or next(iter(tenant.sites))
    locations = locations or tenant.sites[site][:1]
    body = copy.deepcopy(SEED_CREATE[0])
    body["visitors"] = [{"visitorFirstName": f"V{i}", "visitorLastName": "Doe", "visitorEmail": f"v{i}@example.com",
                         "visitorPhone": "1234567890"} for i in range(visitors)]
    body["sites"] = [{"site": site, "locations": [{"location": loc, "accessStartDate": day(start),
                                                    "accessEndDate": day(end)} for loc in locations]}]
    body["visitorBadgeStartDate"] = day(start)
    body["visitorBadgeEndDate"] = day(end)
    body.update(overrides)
    return body


@pytest.fixture
async def tenant(factory):  # type: ignore[no-untyped-def]
    t = await factory.tenant(perms=["visitor-access:request", "tickets:read", "attachments:write"])
    return t


@pytest.fixture
def requester(tenant):  # type: ignore[no-untyped-def]
    return next(iter(tenant.users.values()))


@pytest.fixture
async def approver(factory, tenant):  # type: ignore[no-untyped-def]
    return await factory.user(tenant, perms=["visitor-access:request", "visitor-access:approve", "tickets:read"])


@pytest.fixture
def create(client, requester, tenant):  # type: ignore[no-untyped-def]
    async def do(*bodies, caller=None, headers=None):  # type: ignore[no-untyped-def]
        caller = caller or requester
        payload = list(bodies) or [request_for(tenant)]
        r = await client.post("/v1/facility-access/visitors/access-requests", json=payload,
                              headers={**caller.headers, **(headers or {})})
        return r
    return do
