"""An account's people kept by its own admin (SPEC §16; issue 25 in part): an invitation mailed with a
single-use link that sets the password, permissions granted and revoked never beyond one's own,
people disabled (signed out, their tokens refused), nothing of another account reachable."""

from __future__ import annotations

import asyncio
import re

import httpx
from sqlalchemy import select

from gatehouse.accounts import service as accounts
from gatehouse.accounts.models import User
from gatehouse.console.auth import set_password
from tests.console.signin import sign_in
from tests.notifications.test_mail import _settle, mailer, smtp  # noqa: F401

PASSWORD = "correct horse battery"
ADMIN = ["users:manage", "tickets:read", "visitor-access:request", "visitor-access:approve"]


async def _admin(factory, db, tenant, perms):  # type: ignore[no-untyped-def]
    admin = await factory.user(tenant, perms=perms)
    email = f"admin.{tenant.account_id.lower()}@customer.example"
    async with db.write() as s:
        await accounts.set_email(s, admin.name, email)
    await set_password(db, admin.name, PASSWORD)
    return admin, email


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


async def test_invite_grant_within_ones_own_and_disable(factory, db, app, client, smtp, mailer):  # noqa: F811
    tenant = await factory.tenant()
    admin, email = await _admin(factory, db, tenant, ADMIN)
    base = f"/console/a/{tenant.account_id}/people"
    invitee = f"new.{tenant.account_id.lower()}@customer.example"
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        assert (await sign_in(c, email, PASSWORD)).status_code == 303
        page = await c.get(base)
        assert page.status_code == 200
        csrf = _csrf(page.text)
        r = await c.post(f"{base}/invite", data={"csrf": csrf, "name": f"New {tenant.account_id[:8]}",
                                                 "email": invitee, "perm": ["tickets:read", "audit:read"]})
        assert r.status_code == 403 and "do not hold yourself: audit:read" in r.text  # beyond one's own
        r = await c.post(f"{base}/invite", data={"csrf": csrf, "name": f"New {tenant.account_id[:8]}",
                                                 "email": invitee, "perm": ["tickets:read"]})
        assert r.status_code == 303, r.text
    # the mail, and its single-use link
    for _ in range(100):
        mails = [m for m in smtp.all if m["To"] and m["To"].lower() == invitee]
        if mails:
            break
        await asyncio.sleep(0.05)
    text = mails[0].get_body(("plain",)).get_content()
    link = re.search(r"https?://\S+/console/invite/(\S+)", text)
    assert link, text
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        form = await c.get(f"/console/invite/{link.group(1)}")
        assert form.status_code == 200 and "Welcome" in form.text
        r = await c.post(f"/console/invite/{link.group(1)}", data={"password": "a new long password", "again":
                                                                   "a new long password"})
        assert r.status_code == 303
        assert (await c.get(f"/console/invite/{link.group(1)}")).status_code == 404  # used once
        assert (await sign_in(c, invitee, "a new long password")).status_code == 303
        mine = await c.get(f"/console/a/{tenant.account_id}/requests")
        assert mine.status_code == 200
        assert (await c.get(base)).status_code == 403  # not an admin
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        assert (await sign_in(c, email, PASSWORD)).status_code == 303
        page = await c.get(base)
        new_id = re.search(r'/people/(\d+)/disable" class="inline">\s*<input type="hidden" name="csrf" value="[^"]+">'
                           r'\s*<button type="submit" class="small secondary" aria-label="Disable New', page.text)
        assert new_id, page.text
        csrf = _csrf(page.text)
        r = await c.post(f"{base}/{new_id.group(1)}/permissions", data={"csrf": csrf, "perm": ["tickets:read",
                                                                                               "visitor-access:request"]})
        assert r.status_code == 303
        r = await c.post(f"{base}/{new_id.group(1)}/disable", data={"csrf": csrf})
        assert r.status_code == 303
        page = await c.get(base)
        assert "disabled" in page.text and "visitor-access:request" in page.text
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        assert (await sign_in(c, invitee, "a new long password")).status_code == 401  # disabled


async def test_another_accounts_people_are_not_reachable(factory, db, app):
    mine = await factory.tenant()
    theirs = await factory.tenant()
    _admin_user, email = await _admin(factory, db, mine, ADMIN)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        assert (await sign_in(c, email, PASSWORD)).status_code == 303
        assert (await c.get(f"/console/a/{theirs.account_id}/people")).status_code == 404
        their_user = next(iter(theirs.users.values()))
        page = await c.get(f"/console/a/{mine.account_id}/people")
        csrf = _csrf(page.text)
        async with db.read() as s:
            their_id = (await s.execute(select(User.id).where(User.display_name == their_user.name))).scalar_one()
        r = await c.post(f"/console/a/{mine.account_id}/people/{their_id}/disable", data={"csrf": csrf})
        assert r.status_code == 404  # a person of another account is not found here
