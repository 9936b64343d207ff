"""The sandbox world of SPEC §6: seeded idempotently, credentials kept across restarts."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from gatehouse.accounts import service as accounts
from gatehouse.accounts.models import Account, MasterAccount, User
from gatehouse.auth import service as auth
from gatehouse.auth.models import App
from gatehouse.kit import context
from gatehouse.kit.db import Database
from gatehouse.sites import service as sites
from gatehouse.sites.models import Location, Site

ALL = ["visitor-access:request", "tickets:read", "attachments:write", "permanent-badge:request", "pop-poe:request",
       "notifications:read"]
SITES = [
    dict(code="IAD024", address="43830 Devin Shafron Drive (Bldg F)", city="Ashburn",
         metro="Northern Virginia", country="United States", timezone="America/New_York"),
    dict(code="DFW010", address="2323 Bryan Street", city="Dallas", metro="Dallas",
         country="United States", timezone="America/Chicago"),
]
LOCATIONS = [("IAD024", "ABC Cage F150-B"), ("DFW010", "ABC Cage 12"), ("IAD024", "XYZ Suite 210")]
# the sites' shared carrier rooms (SPEC §13): every account granted the site may request them
POP_POE_ROOMS = [("IAD024", "MMR 1"), ("DFW010", "MMR A")]
MASTERS = [("100123", "ABC Holding Company"), ("200456", "XYZ Corp")]
ACCOUNTS = [("0011A00001AaAB1ABC", "100123", "ABC Company"), ("0012E00002dmMWbQAM", "200456", "XYZ Networks")]
LOCATION_GRANTS = [
    ("0011A00001AaAB1ABC", "IAD024", "ABC Cage F150-B"),
    ("0011A00001AaAB1ABC", "DFW010", "ABC Cage 12"),
    ("0012E00002dmMWbQAM", "IAD024", "XYZ Suite 210"),
]
# (display name, master account, account, permissions); None master = operator.
USERS = [
    ("Random User", "100123", "0011A00001AaAB1ABC", ALL),
    ("Ann Approver", "100123", "0011A00001AaAB1ABC", ALL + ["visitor-access:approve", "permanent-badge:approve", "webhooks:manage",
                                                            "audit:read", "users:manage"]),
    ("Other Customer", "200456", "0012E00002dmMWbQAM", ALL),
    ("Site Security IAD024", None, None, []),
    ("Operator Admin", None, None, []),
]


# the guard keeps the watchlist too (SPEC §14); the admin runs the service from the console (§16)
DEMO_OPERATOR_ROLES = {"Site Security IAD024": ("desk", "watchlist"), "Operator Admin": ("admin",)}
DEMO_OPERATOR_SITES = {"Site Security IAD024": ["IAD024"], "Operator Admin": []}

EMAILS = {
    "Random User": "random.user@abc.example",
    "Ann Approver": "ann.approver@abc.example",
    "Other Customer": "other.customer@xyz.example",
    "Site Security IAD024": "security.iad024@operator.example",
    "Operator Admin": "admin@operator.example",
}


@dataclass
class DemoCredential:
    client_id: str
    client_secret: str
    master_account_id: str | None = None
    account_id: str | None = None
    email: str | None = None
    console_password: str | None = None

    def as_json(self) -> dict:
        data = {"client_id": self.client_id, "client_secret": self.client_secret, "email": self.email,
                "console_password": self.console_password}
        if self.account_id:
            data.update(master_account_id=self.master_account_id, account_id=self.account_id)
        return data


async def seed_demo(db: Database, credentials_path: Path) -> dict[str, DemoCredential]:
    context.current_actor.set(context.ADMIN)  # the trail shows the sandbox's set-up as the admin's
    saved: dict = {}
    if credentials_path.exists():
        saved = json.loads(credentials_path.read_text())
    creds: dict[str, DemoCredential] = {}
    async with db.write() as s:
        for code_kw in SITES:
            if await s.get(Site, code_kw["code"]) is None:
                await sites.create_site(s, **code_kw)
        for site_code, name in LOCATIONS:
            exists = (await s.execute(select(Location.id).where(Location.site_code == site_code,
                                                                Location.name == name))).first()
            if not exists:
                await sites.create_location(s, site_code, name)
        for site_code, name in POP_POE_ROOMS:
            exists = (await s.execute(select(Location.id).where(Location.site_code == site_code,
                                                                Location.name == name))).first()
            if not exists:
                await sites.create_location(s, site_code, name, kind="pop-poe")
        for master_id, name in MASTERS:
            if await s.get(MasterAccount, master_id) is None:
                await accounts.create_master_account(s, master_id, name)
        for account_id, master_id, name in ACCOUNTS:
            if await s.get(Account, account_id) is None:
                await accounts.create_account(s, account_id, master_id, name)
        for account_id, site_code, loc in LOCATION_GRANTS:
            await sites.grant_location(s, account_id, site_code, loc)
        for name, master, account, perms in USERS:
            user = (await s.execute(select(User).where(User.display_name == name))).scalar_one_or_none()
            if user is None:
                if master is None:
                    user = await accounts.create_operator(s, name, DEMO_OPERATOR_SITES[name],
                                                          roles=DEMO_OPERATOR_ROLES[name])
                else:
                    user = await accounts.create_user(s, name, master)
            if master is None:  # an older demo folder's operators get today's roles
                user.operator_roles = accounts.checked_roles(DEMO_OPERATOR_ROLES[name])
            if user.email is None:
                user.email = EMAILS[name]
            if account:
                await accounts.grant_account(s, name, account, perms, default=True)
            creds[name] = await _ensure_app(s, user.id, saved.get(name))
            creds[name].master_account_id = master
            creds[name].account_id = account
            creds[name].email = user.email
    await _ensure_watchlist(db)
    for name, cred in creds.items():
        cred.console_password = await _ensure_console_password(db, name, (saved.get(name) or {}).get("console_password"))
    credentials_path.parent.mkdir(parents=True, exist_ok=True)
    # Written 0600 from the first byte: it holds live secrets.
    fd = os.open(credentials_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({name: c.as_json() for name, c in creds.items()}, fh, indent=2)
    os.chmod(credentials_path, 0o600)
    return creds


async def _ensure_watchlist(db: Database) -> None:
    """One entry to try the desk's security hold with: request a visit for "Mallory Blocked"."""
    from gatehouse.watchlist.models import WatchlistEntry
    from gatehouse.watchlist.schemas import EntryIn
    from gatehouse.watchlist.service import create as create_entry

    async with db.read() as s:
        found = (await s.execute(select(WatchlistEntry.id).where(WatchlistEntry.first_name == "Mallory",
                                                                 WatchlistEntry.last_name == "Blocked"))).first()
    if found is None:
        await create_entry(db, ["IAD024"], "Site Security IAD024", EntryIn(
            firstName="Mallory", lastName="Blocked", reason="Tailgated into a cage in 2025; escort off site"))


async def _ensure_console_password(db: Database, name: str, saved: str | None) -> str:
    """Each person's console login: the password a previous run printed, else a new one."""
    import secrets as _secrets

    from gatehouse.console.auth import set_password
    from gatehouse.console.models import ConsoleLogin

    password = saved or _secrets.token_urlsafe(12)
    async with db.read() as s:
        user = (await s.execute(select(User).where(User.display_name == name))).scalar_one()
        login = await s.get(ConsoleLogin, user.id)
    if login is None or not auth.verify_secret(login.password_hash, password):
        await set_password(db, name, password)
    return password


async def _ensure_app(session, user_id: int, saved: dict | None) -> DemoCredential:
    """Keep the secrets a previous run printed; recreate what is missing."""
    if saved and saved.get("client_id") and saved.get("client_secret"):
        app = (await session.execute(select(App).where(App.client_id == saved["client_id"]))).scalar_one_or_none()
        if app is None:
            await auth.create_app(session, user_id, "demo", saved["client_id"], saved["client_secret"])
        elif not await auth.app_secret_matches(session, app, saved["client_secret"]):
            await auth.rotate_secret(session, app.client_id, saved["client_secret"])
        return DemoCredential(saved["client_id"], saved["client_secret"])
    created = await auth.create_app(session, user_id, "demo")
    return DemoCredential(created.client_id, created.client_secret)


def banner(creds: dict[str, DemoCredential], base_url: str, credentials_path: Path) -> str:
    ru = creds["Random User"]
    lines = [
        "", "Gatehouse demo sandbox", f"  API:       {base_url}", f"  API docs:  {base_url}/docs",
        f"  Credentials (also in {credentials_path}, mode 0600):",
    ]
    for name, c in creds.items():
        extra = f"  master_account_id={c.master_account_id} account_id={c.account_id}" if c.account_id else "  (operator)"
        lines.append(f"    {name:<22} client_id={c.client_id} client_secret={c.client_secret}{extra}")
    lines += ["", f"  Console:   {base_url}/console/  (sign in with email and console password)"]
    for name, c in creds.items():
        lines.append(f"    {name:<22} {c.email}  {c.console_password}")
    lines += [
        "", "  Try it:",
        f"    TOKEN=$(curl -s {base_url}/v2/auth/token -d grant_type=client_credentials \\",
        f"      -d client_id={ru.client_id} -d client_secret={ru.client_secret} | python3 -c 'import sys,json;print(json.load(sys.stdin)[\"access_token\"])')",
        f"    curl -s {base_url}/v1/sites -H \"Authorization: Bearer $TOKEN\" \\",
        f"      -H 'Master-Account-Id: {ru.master_account_id}' -H 'Account-Id: {ru.account_id}'",
        "",
    ]
    return "\n".join(lines)


def write_samples(folder: Path) -> None:
    """Small valid files for the README's upload examples (seed 000's report.pdf, seed 002's .docx)."""
    import io
    import zipfile

    folder.mkdir(parents=True, exist_ok=True)
    pdf = folder / "report.pdf"
    if not pdf.exists():
        pdf.write_bytes(b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
                        b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
                        b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 100]>>endobj\n"
                        b"trailer<</Root 1 0 R>>\n%%EOF\n")
    docx = folder / "letter_of_authorization294850.docx"
    if not docx.exists():
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("[Content_Types].xml",
                       '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
                       'package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/>'
                       '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
                       'officedocument.wordprocessingml.document.main+xml"/></Types>')
            z.writestr("word/document.xml",
                       '<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
                       'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Letter of authorization</w:t></w:r></w:p>'
                       '</w:body></w:document>')
        docx.write_bytes(buf.getvalue())
