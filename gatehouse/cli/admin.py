"""`gatehouse admin ...`: create and list tenancy, apps, sites and grants."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gatehouse.accounts import repository as accounts_repo
from gatehouse.accounts import service as accounts
from gatehouse.auth import repository as auth_repo
from gatehouse.auth import service as auth
from gatehouse.kit.cli import output, run_db
from gatehouse.kit.db import Database
from gatehouse.sites import repository as sites_repo
from gatehouse.sites import service as sites

app = typer.Typer(rich_markup_mode=None, help="Administer tenancy, apps, sites and grants.", no_args_is_help=True)
master_app = typer.Typer(rich_markup_mode=None, help="Master accounts (parent companies).", no_args_is_help=True)
account_app = typer.Typer(rich_markup_mode=None, help="Accounts (legal entities).", no_args_is_help=True)
user_app = typer.Typer(rich_markup_mode=None, help="Customer users and their account grants.", no_args_is_help=True)
operator_app = typer.Typer(rich_markup_mode=None, help="Operators: data-center staff scoped to sites.", no_args_is_help=True)
app_app = typer.Typer(rich_markup_mode=None, help="Apps: client credentials of a user or operator.", no_args_is_help=True)
site_app = typer.Typer(rich_markup_mode=None, help="Sites (facilities).", no_args_is_help=True)
location_app = typer.Typer(rich_markup_mode=None, help="Locations inside a site (cages, suites, rooms).", no_args_is_help=True)
grant_app = typer.Typer(rich_markup_mode=None, help="Grant sites and locations to accounts.", no_args_is_help=True)
sso_app = typer.Typer(rich_markup_mode=None, help="Single sign-on: OpenID Connect providers.", no_args_is_help=True)
from gatehouse.audit.cli import app as audit_app
from gatehouse.worker.cli import app as outbox_app
from gatehouse.worker.cli import mail_app

app.add_typer(audit_app, name="audit")
app.add_typer(outbox_app, name="outbox")
app.add_typer(mail_app, name="mail")
for sub, name in ((master_app, "master-account"), (account_app, "account"), (user_app, "user"),
                  (operator_app, "operator"), (app_app, "app"), (site_app, "site"),
                  (location_app, "location"), (grant_app, "grant"), (sso_app, "sso")):
    app.add_typer(sub, name=name)

Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _listing(query):
    """Run a repository listing in a read transaction (the SQL lives in the repositories)."""
    async def fn(db: Database):
        async with db.read() as s:
            return await query(s)
    return fn


# --- master accounts ----------------------------------------------------------------------------
@master_app.command("create")
def master_create(id: Annotated[str, typer.Option(help="e.g. 100123")],
                  name: Annotated[str, typer.Option()], json: Json = False) -> None:
    async def fn(db: Database) -> dict:
        async with db.write() as s:
            m = await accounts.create_master_account(s, id, name)
            return {"masterAccountId": m.id, "name": m.name}
    output(run_db(fn), json)


@master_app.command("list")
def master_list(json: Json = False) -> None:
    output(run_db(_listing(accounts_repo.master_accounts)), json)


# --- accounts -----------------------------------------------------------------------------------
@account_app.command("create")
def account_create(id: Annotated[str, typer.Option(help="18 characters, e.g. 0011A00001AaAB1ABC")],
                   master: Annotated[str, typer.Option(help="Master account id")],
                   name: Annotated[str, typer.Option()],
                   auto_approve: Annotated[bool, typer.Option("--auto-approve/--no-auto-approve")] = False,
                   json: Json = False) -> None:
    async def fn(db: Database) -> dict:
        async with db.write() as s:
            a = await accounts.create_account(s, id, master, name, auto_approve)
            return {"accountId": a.id, "masterAccountId": a.master_account_id, "name": a.name,
                    "autoApprove": a.auto_approve}
    output(run_db(fn), json)


@account_app.command("set-auto-approve")
def account_auto_approve(id: Annotated[str, typer.Option()],
                         enabled: Annotated[bool, typer.Option("--on/--off")], json: Json = False) -> None:
    async def fn(db: Database) -> dict:
        async with db.write() as s:
            a = await accounts.set_auto_approve(s, id, enabled)
            return {"accountId": a.id, "autoApprove": a.auto_approve}
    output(run_db(fn), json)


@account_app.command("list")
def account_list(json: Json = False) -> None:
    output(run_db(_listing(accounts_repo.accounts)), json)


# --- users --------------------------------------------------------------------------------------
@user_app.command("create")
def user_create(name: Annotated[str, typer.Option(help="Display name, at most 40 characters")],
                master: Annotated[str, typer.Option(help="Master account id")],
                email: Annotated[str | None, typer.Option(help="Where Gatehouse mails this user")] = None,
                json: Json = False) -> None:
    async def fn(db: Database) -> dict:
        async with db.write() as s:
            u = await accounts.create_user(s, name, master, email)
            return {"userId": u.id, "name": u.display_name, "masterAccountId": u.master_account_id,
                    "email": u.email}
    output(run_db(fn), json)


def _set_email(name: str, email: str, json: bool) -> None:
    async def fn(db: Database) -> dict:
        async with db.write() as s:
            u = await accounts.set_email(s, name, email)
            return {"userId": u.id, "name": u.display_name, "email": u.email}
    output(run_db(fn), json)


def _set_password(name: str, password: str | None, json: bool) -> None:
    from gatehouse.console.auth import set_password

    if password is None:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)

    async def fn(db: Database) -> dict:
        u = await set_password(db, name, password)
        return {"userId": u.id, "name": u.display_name, "email": u.email, "console": "password set"}
    output(run_db(fn), json)


Password = Annotated[str | None, typer.Option(help="The new console password (prompted for when left out)")]


@user_app.command("set-password")
def user_set_password(name: Annotated[str, typer.Option(help="User display name")], password: Password = None,
                      json: Json = False) -> None:
    """Set the user's console password (argon2id); ends the user's console sessions."""
    _set_password(name, password, json)


@operator_app.command("set-password")
def operator_set_password(name: Annotated[str, typer.Option(help="Operator display name")], password: Password = None,
                          json: Json = False) -> None:
    """Set the operator's console password (argon2id); ends the operator's console sessions."""
    _set_password(name, password, json)


@user_app.command("set-email")
def user_set_email(name: Annotated[str, typer.Option(help="User display name")],
                   email: Annotated[str, typer.Option(help="Email address; '' clears it")], json: Json = False) -> None:
    """Set (or clear) where Gatehouse mails this user: approval requests, denials, webhook alerts."""
    _set_email(name, email, json)


@user_app.command("grant")
def user_grant(name: Annotated[str, typer.Option(help="User display name")],
               account: Annotated[str, typer.Option(help="Account id")],
               permission: Annotated[list[str], typer.Option("--permission", "-p",
                                                             help="Repeat: visitor-access:request, "
                                                                  "visitor-access:approve, tickets:read, "
                                                                  "attachments:write")],
               default: Annotated[bool, typer.Option("--default", help="Mark as the default account")] = False,
               json: Json = False) -> None:
    async def fn(db: Database) -> dict:
        async with db.write() as s:
            m = await accounts.grant_account(s, name, account, permission, default)
            return {"user": name, "accountId": m.account_id, "permissions": m.permissions.split(),
                    "defaultAccount": m.default_account}
    output(run_db(fn), json)


@user_app.command("list")
def user_list(json: Json = False) -> None:
    output(run_db(_listing(accounts_repo.customer_users)), json)


# --- operators ----------------------------------------------------------------------------------
@operator_app.command("create")
def operator_create(name: Annotated[str, typer.Option()],
                    site: Annotated[list[str], typer.Option("--site", help="Repeat for each site")],
                    email: Annotated[str | None, typer.Option(help="Where Gatehouse mails this operator")] = None,
                    role: Annotated[list[str] | None, typer.Option(
                        "--role", help="desk, watchlist or admin; repeat for several (default desk)")] = None,
                    json: Json = False) -> None:
    async def fn(db: Database) -> dict:
        async with db.write() as s:
            for code in site:
                await sites.get_site(s, code)  # one clear line for a site that does not exist
            u = await accounts.create_operator(s, name, site, email, role or ["desk"])
            return {"userId": u.id, "name": u.display_name, "sites": site, "email": u.email,
                    "roles": u.operator_roles.split()}
    output(run_db(fn), json)


@operator_app.command("set-email")
def operator_set_email(name: Annotated[str, typer.Option(help="Operator display name")],
                       email: Annotated[str, typer.Option(help="Email address; '' clears it")],
                       json: Json = False) -> None:
    _set_email(name, email, json)


@operator_app.command("list")
def operator_list(json: Json = False) -> None:
    output(run_db(_listing(accounts_repo.operators)), json)


# --- apps ---------------------------------------------------------------------------------------
@app_app.command("create")
def app_create(user: Annotated[str, typer.Option(help="Display name of the user or operator")],
               name: Annotated[str, typer.Option(help="A label for the app")] = "default",
               strict: Annotated[bool, typer.Option(help="Refuse unknown fields and parameters (400) instead of "
                                                         "ignoring them as the real API does")] = False,
               json: Json = False) -> None:
    """Create an app. The client secret is printed once and never stored in clear."""
    async def fn(db: Database) -> dict:
        async with db.write() as s:
            u = await accounts.get_user(s, user)
            c = await auth.create_app(s, u.id, name, strict=strict)
            return {"user": u.display_name, "client_id": c.client_id, "client_secret": c.client_secret,
                    "strict": strict}
    output(run_db(fn), json)


@app_app.command("rotate")
def app_rotate(client_id: Annotated[str, typer.Option()], json: Json = False) -> None:
    """Replace the secret; tokens issued before stop working within a second."""
    async def fn(db: Database) -> dict:
        async with db.write() as s:
            c = await auth.rotate_secret(s, client_id)
            return {"client_id": c.client_id, "client_secret": c.client_secret}
    output(run_db(fn), json)


def _set_enabled(client_id: str, enabled: bool, json: bool) -> None:
    async def fn(db: Database) -> dict:
        async with db.write() as s:
            a = await auth.set_app_enabled(s, client_id, enabled)
            return {"client_id": a.client_id, "enabled": a.enabled}
    output(run_db(fn), json)


@app_app.command("disable")
def app_disable(client_id: Annotated[str, typer.Option()], json: Json = False) -> None:
    _set_enabled(client_id, False, json)


@app_app.command("enable")
def app_enable(client_id: Annotated[str, typer.Option()], json: Json = False) -> None:
    _set_enabled(client_id, True, json)


@app_app.command("strict")
def app_strict(client_id: Annotated[str, typer.Option()],
               on: Annotated[bool, typer.Option("--on/--off", help="strict, or tolerant as the real API")] = True,
               json: Json = False) -> None:
    """Make an app strict (unknown fields and parameters refused) or tolerant again."""
    async def fn(db: Database) -> dict:
        async with db.write() as s:
            a = await auth.set_app_strict(s, client_id, on)
            return {"client_id": a.client_id, "strict": a.strict}
    output(run_db(fn), json)


@app_app.command("list")
def app_list(json: Json = False) -> None:
    output(run_db(_listing(auth_repo.apps)), json)


# --- sites and locations ------------------------------------------------------------------------
@site_app.command("create")
def site_create(code: Annotated[str, typer.Option(help="6 letters or digits, e.g. IAD024")],
                timezone: Annotated[str, typer.Option(help="IANA timezone, e.g. America/New_York")],
                address: Annotated[str, typer.Option()] = "", city: Annotated[str, typer.Option()] = "",
                metro: Annotated[str, typer.Option()] = "", country: Annotated[str, typer.Option()] = "",
                json: Json = False) -> None:
    async def fn(db: Database) -> dict:
        async with db.write() as s:
            x = await sites.create_site(s, code, address=address, city=city, metro=metro, country=country,
                                        timezone=timezone)
            return {"site": x.code, "address": x.address, "city": x.city, "metro": x.metro,
                    "country": x.country, "timezone": x.timezone}
    output(run_db(fn), json)


@site_app.command("set")
def site_set(site: Annotated[str, typer.Option()],
             require_identity_check: Annotated[bool | None, typer.Option(
                 "--require-identity-check/--no-require-identity-check",
                 help="Ask for the identity document and 'name matches' at check-in")] = None,
             require_escort_confirmation: Annotated[bool | None, typer.Option(
                 "--require-escort-confirmation/--no-require-escort-confirmation",
                 help="Ask to confirm an escorted visitor's escort at check-in")] = None,
             arrival_instructions: Annotated[str | None, typer.Option(
                 help="Told to visitors on their page and pass (where to park, which door)")] = None,
             rules_file: Annotated[Path | None, typer.Option(
                 help="The site's rules (Markdown), accepted by visitors before they arrive: a new version")] = None,
             require_pre_check_in: Annotated[bool | None, typer.Option(
                 "--require-pre-check-in/--no-require-pre-check-in",
                 help="The rules must be accepted before check-in (else the desk asks at arrival)")] = None,
             json: Json = False) -> None:
    """Change a site's desk requirements, arrival instructions and rules document (SPEC §17)."""
    rules = rules_file.read_text(encoding="utf-8") if rules_file is not None else None

    async def fn(db: Database) -> dict:
        async with db.write() as s:
            found = await sites.set_site(s, site, require_identity_check=require_identity_check,
                                         require_escort_confirmation=require_escort_confirmation,
                                         arrival_instructions=arrival_instructions, rules_markdown=rules,
                                         require_pre_check_in=require_pre_check_in)
            current = await sites.current_rules(s, site)
            return {"site": found.code, "requireIdentityCheck": found.require_identity_check,
                    "requireEscortConfirmation": found.require_escort_confirmation,
                    "arrivalInstructions": found.arrival_instructions,
                    "requirePreCheckIn": found.require_pre_check_in,
                    "rulesVersion": current.version if current else None}
    output(run_db(fn), json)


@site_app.command("list")
def site_list(json: Json = False) -> None:
    output(run_db(_listing(sites_repo.all_sites)), json)


@location_app.command("create")
def location_create(site: Annotated[str, typer.Option()], name: Annotated[str, typer.Option()],
                    parent: Annotated[str | None, typer.Option(help="Parent location name")] = None,
                    kind: Annotated[str, typer.Option(help="room, or pop-poe: a shared carrier room every account "
                                                           "granted the site may request (pop-poe:request)")] = "room",
                    json: Json = False) -> None:
    async def fn(db: Database) -> dict:
        async with db.write() as s:
            loc = await sites.create_location(s, site, name, parent, kind=kind)
            return {"id": loc.id, "site": loc.site_code, "location": loc.name, "parentId": loc.parent_id,
                    "kind": loc.kind}
    output(run_db(fn), json)


@location_app.command("list")
def location_list(site: Annotated[str, typer.Option()], json: Json = False) -> None:
    output(run_db(_listing(lambda s: sites_repo.locations_of_site(s, site))), json)


@grant_app.command("site")
def grant_site_cmd(account: Annotated[str, typer.Option()], site: Annotated[str, typer.Option()],
                   json: Json = False) -> None:
    async def fn(db: Database) -> dict:
        async with db.write() as s:
            await sites.grant_site(s, account, site)
        return {"accountId": account, "site": site}
    output(run_db(fn), json)


@grant_app.command("location")
def grant_location_cmd(account: Annotated[str, typer.Option()], site: Annotated[str, typer.Option()],
                       location: Annotated[str, typer.Option()], json: Json = False) -> None:
    async def fn(db: Database) -> dict:
        async with db.write() as s:
            await sites.grant_location(s, account, site, location)
        return {"accountId": account, "site": site, "location": location}
    output(run_db(fn), json)


# --- single sign-on (SPEC §16, §17) ----------------------------------------------------------------
@sso_app.command("set")
def sso_set(issuer: Annotated[str, typer.Option(help="The provider's issuer URL")],
            client_id: Annotated[str, typer.Option(help="Gatehouse's client id at the provider")],
            client_secret: Annotated[str, typer.Option(help="Its client secret (stored; never shown again)")],
            master: Annotated[str | None, typer.Option(help="The master account whose people sign in with it")] = None,
            operators: Annotated[bool, typer.Option("--operators", help="The operators' provider")] = False,
            name: Annotated[str, typer.Option(help="Shown as 'Sign in with <name>'")] = "",
            email_claim: Annotated[str, typer.Option(help="The ID token claim holding the email")] = "email",
            create_users: Annotated[bool, typer.Option("--create-users",
                                                       help="Create people on their first sign-in")] = False,
            json: Json = False) -> None:
    """Set the provider of a master account (--master ID) or of the operators (--operators)."""
    from gatehouse.sso.models import OPERATORS
    from gatehouse.sso.service import set_provider

    if bool(master) == operators:
        raise typer.BadParameter("give either --master ID or --operators")

    async def fn(db: Database) -> dict:
        async with db.write() as s:
            row = await set_provider(s, OPERATORS if operators else str(master), name=name or issuer, issuer=issuer,
                                     client_id=client_id, client_secret=client_secret, email_claim=email_claim,
                                     create_users=create_users, allow_private=db.settings.sso_allow_private)
            return {"scope": row.scope, "name": row.name, "issuer": row.issuer, "clientId": row.client_id,
                    "emailClaim": row.email_claim, "createUsers": row.create_users,
                    "loginUrl": f"/console/login?sso={row.scope}"}
    output(run_db(fn), json)
