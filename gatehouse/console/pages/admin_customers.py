"""Operator administration, customers (SPEC §16): master accounts, their accounts (auto-approve),
their people (invited by email, granted permissions per account) and their second-factor policy.
The same services as `gatehouse admin`; each change an event; lists searched and paged."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import RedirectResponse, Response

from gatehouse.accounts import repository as tenancy
from gatehouse.accounts import service as accounts
from gatehouse.accounts.models import PERMISSIONS, MasterAccount
from gatehouse.console import people, web
from gatehouse.console.auth import Person
from gatehouse.console.web import AdminDep, db_of, page, posted
from gatehouse.kit.errors import GatehouseError

router = web.router()
SIZE = 25


@router.get("/admin")
async def admin_home(person: AdminDep) -> Response:
    return RedirectResponse("/console/admin/customers", status_code=303)


@router.get("/admin/customers")
async def customers(request: Request, person: AdminDep, q: Annotated[str, Query(max_length=80)] = "",
                    p: Annotated[int, Query(ge=0, le=100_000)] = 0, notice: Annotated[str, Query(max_length=200)] = ""
                    ) -> Response:
    return await _customers(request, person, q=q, p=p, notice=notice)


async def _customers(request: Request, person: Person, *, q: str = "", p: int = 0, notice: str = "", error: str = "",
                     status: int = 200) -> Response:
    async with db_of(request).read() as session:
        rows, total = await tenancy.masters_page(session, q.strip(), p, SIZE)
    return page(request, "admin/customers.html", status=status, person=person, area="customers", rows=rows,
                total=total, q=q, p=p, pages=max(1, -(-total // SIZE)), notice=notice, error=error)


@router.post("/admin/customers")
async def create_master(request: Request, person: AdminDep) -> Response:
    form = await posted(request, person)
    master_id, name = form.text("master_id", 40), form.text("name")
    try:
        async with db_of(request).write() as session:
            await accounts.create_master_account(session, master_id, name)
    except GatehouseError as exc:
        return await _customers(request, person, error=exc.message, status=400)
    return RedirectResponse(f"/console/admin/customers/{master_id}?notice=Created.", status_code=303)


async def _customer(request: Request, person: Person, master_id: str, *, notice: str = "", error: str = "",
                    status: int = 200) -> Response:
    async with db_of(request).read() as session:
        master = await session.get(MasterAccount, master_id[:40])
        if master is None:
            raise web.PageNotFound("No such master account.")
        accts = await tenancy.accounts_of_master(session, master.id)
        folks = await tenancy.master_people(session, master.id)
    return page(request, "admin/customer.html", status=status, person=person, area="customers", master=master,
                accounts=accts, people=folks, permissions=PERMISSIONS, notice=notice, error=error)


@router.get("/admin/customers/{master_id}")
async def customer(request: Request, person: AdminDep, master_id: str,
                   notice: Annotated[str, Query(max_length=200)] = "") -> Response:
    return await _customer(request, person, master_id, notice=notice)


@router.post("/admin/customers/{master_id}/{action}")
async def customer_action(request: Request, person: AdminDep, master_id: str, action: str) -> Response:
    """create-account, auto-approve, invite, grant, totp: one form each on the master account's page."""
    form = await posted(request, person)
    value = form.text
    master_id = master_id[:40]
    db = db_of(request)
    try:
        async with db.read() as session:
            if await session.get(MasterAccount, master_id) is None:
                raise web.PageNotFound("No such master account.")
            mine = {a.id for a in await tenancy.accounts_of_master(session, master_id)}
        if action in ("auto-approve", "invite", "grant") and value("account_id") not in mine:
            raise web.PageNotFound("No such account of this customer.")
        perms = set(form.all("permissions"))
        if action == "create-account":
            async with db.write() as session:
                await accounts.create_account(session, value("account_id"), master_id, value("name"),
                                              value("auto_approve") == "1")
            notice = "Account created."
        elif action == "auto-approve":
            async with db.write() as session:
                await accounts.set_auto_approve(session, value("account_id"), value("enabled") == "1")
            notice = "Saved."
        elif action == "invite":
            await people.invite(db, value("account_id"), frozenset(PERMISSIONS), person.name, value("name"),
                                value("email"), perms)
            notice = f"Invitation mailed to {value('email')}."
        elif action == "grant":
            async with db.write() as session:
                await accounts.grant_account(session, value("user"), value("account_id"), sorted(perms))
            notice = "Permissions saved."
        elif action == "totp":
            async with db.write() as session:
                await accounts.set_require_totp(session, master_id, value("required") == "1")
            notice = "Saved."
        else:
            raise web.PageNotFound("No such action.")
    except GatehouseError as exc:
        return await _customer(request, person, master_id, error=web.said(exc), status=400)
    return RedirectResponse(f"/console/admin/customers/{master_id}?notice={notice}", status_code=303)
