"""Bulk access requests from a CSV file (SPEC §12; seed 001's deprecated bulk feature, done properly).

One row is one visitor at one site. Every row is checked alone, exactly as the API checks a create
body (`service.parse_requests`), so a row's problems name its columns. The valid rows are then
grouped by identical visit fields (site, locations, dates, host, escort, ...) into request objects
of at most 10 visitors, and each group is created under its own Idempotency-Key: a double submit or
a retry after a dropped connection replays instead of creating twice."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, select, update

from gatehouse.auth.principal import AccountContext
from gatehouse.facility_access import service
from gatehouse.facility_access.models import BulkImport
from gatehouse.kit import csvout
from gatehouse.kit.db import Database, affected, utcnow
from gatehouse.kit.errors import BadRequest, Conflict, GatehouseError, NotFound, ValidationFailed

MAX_ROWS = 2000
MAX_BYTES = 2 * 1024 * 1024
GROUP_MAX = 10  # visitor x site combinations per request object (SPEC §3)
CHECK_BATCH = 5  # lines checked per call: few enough that no line's problems pass the 100 listed

# (column, meaning, example) — the template file and the page's documentation are built from this
COLUMNS: list[tuple[str, str, str]] = [
    ("visitorFirstName", "Visitor's first name, 1-20 characters", "Jane"),
    ("visitorLastName", "Visitor's last name, 1-20 characters", "Doe"),
    ("visitorEmail", "Visitor's email (the pass is mailed here)", "jane.doe@example.com"),
    ("visitorPhone", "Optional, up to 40 characters", "+1 555 0100"),
    ("company", "The company the visitor represents", "Acme Cabling"),
    ("site", "Site code, one of your account's sites", "IAD024"),
    ("locations", "Location names at that site, separated by ';'", "ABC Cage F150-B"),
    ("badgeStartDate", "First day, yyyy-MM-dd, in the site's time zone", "(a week from today)"),
    ("badgeEndDate", "Last day, yyyy-MM-dd", "(the day after)"),
    ("accessStartTime", "Optional: from HH:mm on the first day, site time (default 00:00)", "08:00"),
    ("accessEndTime", "Optional: until HH:mm on the last day, site time (default 23:59)", "18:00"),
    ("escorted", "yes or no", "yes"),
    ("escortFirstName", "Mandatory when escorted", "Sam"),
    ("escortLastName", "Mandatory when escorted", "Smith"),
    ("hostFirstName", "The host's first name", "Ann"),
    ("hostLastName", "The host's last name", "Host"),
    ("hostCompany", "The host's company", "ABC Company"),
    ("hostEmail", "Optional: the host's email, told when the visitor checks in", ""),
    ("extendedBadge", "yes or no; unescorted visitors only, at most 30 days", "no"),
    ("emailNotifications", "Optional: more addresses to tell, separated by ','", ""),
    ("notes", "Optional", ""),
]
NAMES = [c for c, _, _ in COLUMNS]
REQUIRED = {"visitorFirstName", "visitorLastName", "visitorEmail", "company", "site", "locations",
            "badgeStartDate", "badgeEndDate", "escorted", "hostFirstName", "hostLastName", "hostCompany"}
# API field (after "[0].") -> CSV column, so a row's problems name what the person typed
_FIELD_TO_COLUMN = {
    "visitors[0].visitorFirstName": "visitorFirstName", "visitors[0].visitorLastName": "visitorLastName",
    "visitors[0].visitorEmail": "visitorEmail", "visitors[0].visitorPhone": "visitorPhone",
    "company": "company", "sites[0].site": "site", "visitorBadgeStartDate": "badgeStartDate",
    "visitorBadgeEndDate": "badgeEndDate", "visitorType": "escorted", "escortFirstName": "escortFirstName",
    "escortLastName": "escortLastName", "visitorHostFirstName": "hostFirstName",
    "visitorHostLastName": "hostLastName", "visitorHostCompany": "hostCompany", "visitorHostEmail": "hostEmail",
    "isExtendedVisitorBadge": "extendedBadge", "emailNotifications": "emailNotifications", "notes": "notes",
}


def template_csv() -> str:
    out = io.StringIO()
    writer = csvout.Writer(out)
    writer.header(NAMES)
    # the sample's dates are always ahead: a week from today, and the day after
    start = date.today() + timedelta(days=7)
    dated = {"badgeStartDate": start.isoformat(), "badgeEndDate": (start + timedelta(days=1)).isoformat()}
    writer.row([dated.get(name, example) for name, _, example in COLUMNS])
    return out.getvalue()


@dataclass
class Row:
    number: int  # the line in the file (the header is line 1)
    values: dict[str, str]
    request: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def label(self) -> str:
        v = self.values
        return f"{v.get('visitorFirstName', '')} {v.get('visitorLastName', '')} at {v.get('site', '')}".strip()


def _yes_no(value: str, column: str, problems: list[str]) -> bool | None:
    v = value.strip().lower()
    if v in ("yes", "y", "true", "1"):
        return True
    if v in ("no", "n", "false", "0", ""):
        return False if v or column != "escorted" else None
    problems.append(f"{column}: must be yes or no, not '{value[:20]}'")
    return None


def _as_request(values: dict[str, str], problems: list[str]) -> dict[str, Any]:
    start, end = values.get("badgeStartDate", "").strip(), values.get("badgeEndDate", "").strip()
    escorted = _yes_no(values.get("escorted", ""), "escorted", problems)
    if not values.get("escorted", "").strip():
        problems.append("escorted: is mandatory, yes or no")
    extended = _yes_no(values.get("extendedBadge", ""), "extendedBadge", problems)
    locations = [x.strip() for x in values.get("locations", "").split(";") if x.strip()]
    times = {key: values[key].strip() for key in ("accessStartTime", "accessEndTime") if values.get(key, "").strip()}
    body: dict[str, Any] = {
        "visitors": [{"visitorFirstName": values.get("visitorFirstName", "").strip(),
                      "visitorLastName": values.get("visitorLastName", "").strip(),
                      "visitorEmail": values.get("visitorEmail", "").strip(),
                      "visitorPhone": values.get("visitorPhone", "").strip()}],
        "sites": [{"site": values.get("site", "").strip().upper(),
                   "locations": [{"location": name, "accessStartDate": start, "accessEndDate": end, **times}
                                 for name in locations]}],
        "visitorType": True if escorted is None else escorted,
        "escortFirstName": values.get("escortFirstName", "").strip(),
        "escortLastName": values.get("escortLastName", "").strip(),
        "visitorHostFirstName": values.get("hostFirstName", "").strip(),
        "visitorHostLastName": values.get("hostLastName", "").strip(),
        "visitorHostCompany": values.get("hostCompany", "").strip(),
        **({"visitorHostEmail": host_email} if (host_email := values.get("hostEmail", "").strip()) else {}),
        "visitorBadgeStartDate": start, "visitorBadgeEndDate": end,
        "company": values.get("company", "").strip(),
        "emailNotifications": values.get("emailNotifications", "").strip(),
        "notes": values.get("notes", "").strip(),
        "isBulkRequest": True,
    }
    body["isExtendedVisitorBadge"] = bool(extended)  # an empty cell is a standard badge, as "no"
    if not locations:
        problems.append("locations: name at least one location of the site, separated by ';'")
    return body


def _column_of(api_field: str) -> str:
    f = re.sub(r"^\[\d+\]\.?", "", api_field)
    if f in _FIELD_TO_COLUMN:
        return _FIELD_TO_COLUMN[f]
    if f.startswith("sites[0].locations"):
        for column in ("accessStartTime", "accessEndTime"):
            if f.endswith(column):
                return column
        return "locations" if not f.endswith(("accessStartDate", "accessEndDate")) else "badgeStartDate/badgeEndDate"
    return f or "row"


def read_csv(data: bytes) -> list[Row]:
    """The file's rows, or BadRequest for a file that is not this format at all."""
    if len(data) > MAX_BYTES:
        raise BadRequest(f"The file is larger than {MAX_BYTES // 1024 // 1024} MiB.", code="FILE_TOO_LARGE")
    try:
        text = data.decode("utf-8-sig")  # spreadsheets save UTF-8 with a byte order mark
    except UnicodeDecodeError:
        raise BadRequest("The file is not UTF-8 text; save it as 'CSV UTF-8'.", code="INVALID_CSV") from None
    if "\x00" in text:
        raise BadRequest("The file is not a CSV text file.", code="INVALID_CSV")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader, [])]
        missing = [c for c in NAMES if c in REQUIRED and c not in header]
        if not header or missing:
            raise BadRequest("The first line must name the columns; missing: " + ", ".join(missing or NAMES)
                             + ". Download the template.", code="INVALID_CSV")
        unknown = [h for h in header if h not in NAMES]
        if unknown:
            raise BadRequest("Unknown columns: " + ", ".join(u[:30] for u in unknown[:5]) + ". Download the template.",
                             code="INVALID_CSV")
        rows: list[Row] = []
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue  # blank lines, common at the end of a spreadsheet's export
            if len(rows) >= MAX_ROWS:
                raise BadRequest(f"At most {MAX_ROWS} rows per file; split it.", code="TOO_MANY_ROWS")
            problems = []
            if len(cells) != len(header):
                problems.append(f"row: has {len(cells)} cells where the header has {len(header)}")
            values = {h: (cells[i] if i < len(cells) else "") for i, h in enumerate(header)}
            rows.append(Row(reader.line_num, values, problems=problems))
    except csv.Error as exc:
        raise BadRequest(f"The file is not valid CSV (line {reader.line_num}: {exc}).", code="INVALID_CSV") from None
    if not rows:
        raise BadRequest("The file has no rows under its header.", code="INVALID_CSV")
    return rows


async def check_rows(db: Database, ctx: AccountContext, rows: list[Row]) -> None:
    """Each row's problems, as the API's create would report them, named by column."""
    for row in rows:
        row.request = _as_request(row.values, row.problems)
    for start in range(0, len(rows), CHECK_BATCH):
        # a few lines per call: each is its own request object, so every detail's "[i]" names its line,
        # and the sites are loaded once per call rather than once per line
        await _check_batch(db, ctx, rows[start:start + CHECK_BATCH])
    seen: dict[tuple[str, ...], int] = {}
    for row in rows:
        v = row.values
        key = (v.get("visitorEmail", "").strip().lower(), v.get("site", "").strip().upper(),
               v.get("badgeStartDate", "").strip(), v.get("badgeEndDate", "").strip())
        if key in seen:
            row.problems.append(f"row: the same visitor, site and dates as line {seen[key]}")
        else:
            seen[key] = row.number
        row.problems = list(dict.fromkeys(row.problems))  # one message once


async def _check_batch(db: Database, ctx: AccountContext, batch: list[Row]) -> None:
    try:
        await service.parse_requests(db, ctx, [row.request for row in batch])
    except ValidationFailed as exc:
        if len(exc.details) >= ValidationFailed.MAX_DETAILS and len(batch) > 1:
            for row in batch:  # the list was cut short: every line on its own, so none is missed
                await _check_batch(db, ctx, [row])
            return
        for d in exc.details:
            at = re.match(r"^\[(\d+)\]", d.field)
            message = re.sub(r"^(Payload|Mandatory payload) '[^']*' ", "", d.message)
            for row in ([batch[int(at.group(1))]] if at and int(at.group(1)) < len(batch) else batch):
                row.problems.append(f"{_column_of(d.field)}: {message}")


def group_rows(rows: list[Row]) -> list[dict[str, Any]]:
    """Valid rows, grouped by identical visit fields, at most GROUP_MAX visitors per request object."""
    groups: dict[str, list[Row]] = {}
    for row in rows:
        if not row.ok or row.request is None:
            continue
        visit = {k: v for k, v in row.request.items() if k != "visitors"}
        groups.setdefault(json.dumps(visit, sort_keys=True), []).append(row)
    out = []
    for members in groups.values():
        for i in range(0, len(members), GROUP_MAX):
            chunk = members[i:i + GROUP_MAX]
            first = chunk[0].request or {}
            request = {**first, "visitors": [(r.request or {})["visitors"][0] for r in chunk]}
            out.append({"rows": [r.number for r in chunk], "request": request})
    return out


# --- a stored import: preview, then runs (each group once) ------------------------------------------


async def save(db: Database, ctx: AccountContext, filename: str, rows: list[Row]) -> str:
    import_id = uuid.uuid4().hex
    groups = group_rows(rows)
    async with db.write() as session:
        session.add(BulkImport(
            id=import_id, user_id=ctx.user_id, account_id=ctx.account_id, filename=filename[:200],
            created_at=utcnow(), total_rows=len(rows), valid_rows=sum(1 for r in rows if r.ok),
            rows_json=json.dumps([{"n": r.number, "label": r.label, "problems": r.problems,
                                   "values": r.values} for r in rows]),
            groups_json=json.dumps(groups), results_json="{}"))
    return import_id


async def load(db: Database, ctx: AccountContext, import_id: str) -> BulkImport:
    """The person's own import in this account; anyone else's is a 404."""
    async with db.read() as session:
        found = (await session.execute(select(BulkImport).where(
            BulkImport.id == import_id[:32], BulkImport.user_id == ctx.user_id,
            BulkImport.account_id == ctx.account_id))).scalar_one_or_none()
    if found is None:
        raise NotFound("No such import.", code="IMPORT_NOTFOUND")
    return found


def progress(imp: BulkImport) -> dict[str, Any]:
    groups = json.loads(imp.groups_json)
    results = json.loads(imp.results_json)
    created = sum(len(r.get("workOrders", [])) for r in results.values())
    failed = sum(1 for r in results.values() if r.get("error"))
    return {"groups": len(groups), "done": len(results), "created": created, "failedGroups": failed,
            "finished": len(results) >= len(groups), "validRows": imp.valid_rows, "totalRows": imp.total_rows}


async def run(db: Database, ctx: AccountContext, import_id: str, max_groups: int | None = None) -> dict[str, Any]:
    """Create the groups not yet done, up to `max_groups` (a browser asks in steps to show progress).
    Each group's key is fixed by the import and the group's index: whatever runs it twice replays."""
    imp = await load(db, ctx, import_id)
    groups = json.loads(imp.groups_json)
    results = json.loads(imp.results_json)
    todo = [i for i in range(len(groups)) if str(i) not in results]
    for index in todo[:max_groups]:
        group = groups[index]
        outcome: dict[str, Any]
        for _attempt in range(40):
            try:
                body = await service.parse_requests(db, ctx, [group["request"]])
                response, _replayed = await service.create_with_key(db, ctx, body, f"bulk-{imp.id}-{index}",
                                                                   namespace=-ctx.user_id)
                outcome = {"workOrders": [w["workOrderId"] for w in response["workOrder"]]}
                break
            except Conflict as exc:
                if exc.code != "IDEMPOTENCY_KEY_IN_USE":
                    outcome = {"error": exc.message}
                    break
                await asyncio.sleep(0.25)  # another submit of this file is creating this group right now
            except GatehouseError as exc:
                details = getattr(exc, "details", None) or []
                outcome = {"error": "; ".join(d.message for d in details) or exc.message}
                break
        else:
            outcome = {"error": "Another submit of this file is still creating this group; try again."}
        results[str(index)] = outcome
        async with db.write() as session:  # only adds: a concurrent run's results are kept
            current = (await session.execute(select(BulkImport.results_json).where(
                BulkImport.id == imp.id).with_for_update())).scalar_one()
            merged = {**json.loads(current), str(index): outcome}
            await session.execute(update(BulkImport).where(BulkImport.id == imp.id)
                                  .values(results_json=json.dumps(merged)))
        imp.results_json = json.dumps(results)
    return progress(await load(db, ctx, import_id))


def outcomes(imp: BulkImport) -> list[dict[str, Any]]:
    """Each line of the file with what became of it: `workOrder` once created, else `result` says
    why not or that it waits ("will be created" before the run)."""
    rows = json.loads(imp.rows_json)
    groups = json.loads(imp.groups_json)
    results = json.loads(imp.results_json)
    by_row: dict[int, tuple[str, str]] = {}
    for index, group in enumerate(groups):
        outcome = results.get(str(index))
        for position, number in enumerate(group["rows"]):
            if outcome is None:
                by_row[number] = ("", "will be created")
            elif outcome.get("error"):
                by_row[number] = ("", outcome["error"])
            else:
                by_row[number] = (outcome["workOrders"][position], "created")
    out = []
    for r in rows:
        wo, result = by_row.get(r["n"], ("", "; ".join(r["problems"]) or "not created"))
        v = r["values"]
        out.append({"line": r["n"], "firstName": v.get("visitorFirstName", ""), "lastName": v.get("visitorLastName", ""),
                    "email": v.get("visitorEmail", ""), "site": v.get("site", ""),
                    "dates": f"{v.get('badgeStartDate', '')} to {v.get('badgeEndDate', '')}",
                    "workOrder": wo, "result": result, "ok": not r["problems"]})
    return out


def result_csv(imp: BulkImport) -> str:
    """One line per row of the file: its line, visitor, and the work order created or why not."""
    out = io.StringIO()
    writer = csvout.Writer(out)
    writer.header(["line", "visitorFirstName", "visitorLastName", "visitorEmail", "site", "workOrderId", "result"])
    for o in outcomes(imp):
        writer.row([o["line"], o["firstName"], o["lastName"], o["email"], o["site"], o["workOrder"],
                    "not submitted yet" if o["result"] == "will be created" else o["result"]])
    return out.getvalue()


IMPORT_KEPT = timedelta(days=7)


async def purge_old_imports(db: Database) -> int:
    """An import holds its file's personal data: kept a week for its result file, then removed
    (the work orders it made stay, under the normal retention)."""
    async with db.write() as session:
        done = await session.execute(delete(BulkImport).where(BulkImport.created_at < utcnow() - IMPORT_KEPT))
    return affected(done)
