"""The CSV format of bulk requests (facility_access/bulk.py): reading, grouping, the result file.
The whole flow (rows checked as API creates, idempotent groups, the browser's progress) is in
tests/console/test_portal.py."""

from __future__ import annotations

import csv
import io
import json
from types import SimpleNamespace

import pytest

from gatehouse.facility_access import bulk
from gatehouse.kit.errors import BadRequest


def _file(rows: list[dict[str, str]], *, bom: bool = False, header: list[str] | None = None) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    names = header or bulk.NAMES
    writer.writerow(names)
    for r in rows:
        writer.writerow([r.get(n, "") for n in names])
    return (("\ufeff" if bom else "") + out.getvalue()).encode()


def _row(i: int, **over: str) -> dict[str, str]:
    base = dict(visitorFirstName=f"V{i}", visitorLastName="Doe", visitorEmail=f"v{i}@x.example", company="Acme",
                site="IAD024", locations="Cage A; Cage B", badgeStartDate="2026-12-01", badgeEndDate="2026-12-02",
                escorted="yes", escortFirstName="Sam", escortLastName="Smith", hostFirstName="Hal",
                hostLastName="Host", hostCompany="Tenant")
    return {**base, **over}


def test_the_template_names_every_column_and_reads_back():
    rows = bulk.read_csv(bulk.template_csv().encode())
    assert list(rows[0].values) == bulk.NAMES and len(rows) == 1


def test_a_spreadsheets_byte_order_mark_and_blank_lines_are_fine():
    data = _file([_row(1)], bom=True) + b"\r\n,,,\r\n"
    rows = bulk.read_csv(data)
    assert len(rows) == 1 and rows[0].values["visitorFirstName"] == "V1" and rows[0].number == 2


@pytest.mark.parametrize("data, says", [
    (b"", "missing"),
    (b"visitorFirstName\nA\n", "missing"),
    (_file([_row(1)], header=bulk.NAMES + ["shoeSize"]), "Unknown columns: shoeSize"),
    (b"\xff\xfe\x00v", "not UTF-8"),
    (_file([]), "no rows"),
])
def test_a_file_that_is_not_the_format_is_refused_with_the_reason(data: bytes, says: str):
    with pytest.raises(BadRequest) as caught:
        bulk.read_csv(data)
    assert says in caught.value.message


def test_a_line_with_the_wrong_number_of_cells_is_a_problem_of_that_line():
    data = _file([_row(1)]) + b"only,three,cells\n"
    rows = bulk.read_csv(data)
    assert rows[0].ok and not rows[1].ok and "3 cells" in rows[1].problems[0]


def test_identical_visits_are_grouped_by_ten_and_different_ones_apart():
    rows = []
    for i in range(23):
        r = bulk.Row(i + 2, _row(i))
        r.request = bulk._as_request(r.values, r.problems)
        rows.append(r)
    other = bulk.Row(30, _row(99, site="DFW010", locations="Cage 12"))
    other.request = bulk._as_request(other.values, other.problems)
    bad = bulk.Row(31, _row(100), problems=["visitorEmail: is not a valid email address."])
    bad.request = bulk._as_request(bad.values, [])
    groups = bulk.group_rows([*rows, other, bad])
    assert [len(g["rows"]) for g in groups] == [10, 10, 3, 1]
    assert all(len(g["request"]["visitors"]) == len(g["rows"]) for g in groups)
    assert groups[3]["request"]["sites"][0]["site"] == "DFW010"
    assert 31 not in [n for g in groups for n in g["rows"]]  # a line with problems is never sent
    assert groups[0]["request"]["sites"][0]["locations"][1]["location"] == "Cage B"
    assert groups[0]["request"]["isBulkRequest"] is True


def test_yes_no_columns_and_a_missing_escort_choice():
    problems: list[str] = []
    body = bulk._as_request(_row(1, escorted="No", extendedBadge="yes"), problems)
    assert body["visitorType"] is False and body["isExtendedVisitorBadge"] is True and not problems
    bulk._as_request(_row(1, escorted=""), problems)
    assert problems == ["escorted: is mandatory, yes or no"]


def test_the_result_file_gives_each_line_its_work_order_or_its_problem_and_is_formula_safe():
    rows = [{"n": 2, "label": "", "problems": [], "values": _row(1, visitorFirstName="=HYPERLINK(1)")},
            {"n": 3, "label": "", "problems": ["site: not granted"], "values": _row(2)},
            {"n": 4, "label": "", "problems": [], "values": _row(3)}]
    imp = SimpleNamespace(rows_json=json.dumps(rows), groups_json=json.dumps([{"rows": [2, 4], "request": {}}]),
                          results_json=json.dumps({"0": {"workOrders": ["WO1000001", "WO1000002"]}}))
    out = list(csv.DictReader(io.StringIO(bulk.result_csv(imp))))  # type: ignore[arg-type]
    assert [(r["line"], r["workOrderId"], r["result"]) for r in out] == [
        ("2", "WO1000001", "created"), ("3", "", "site: not granted"), ("4", "WO1000002", "created")]
    assert out[0]["visitorFirstName"] == "'=HYPERLINK(1)"  # a spreadsheet shows it, never runs it


async def test_an_unescorted_visitor_with_a_standard_badge_from_csv_and_form_is_created(client, factory):
    """Issue 20 #12: an empty or "no" extendedBadge, and the portal's unticked box, are a standard badge."""
    from starlette.datastructures import FormData

    from gatehouse.console.pages.new_request import _form_to_request
    from tests.facility_access.conftest import request_for

    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    like = request_for(tenant)
    site, loc = like["sites"][0]["site"], like["sites"][0]["locations"][0]
    dates = dict(badgeStartDate=loc["accessStartDate"], badgeEndDate=loc["accessEndDate"])
    bodies = []
    for cell in ("", "no"):
        problems: list[str] = []
        bodies.append(bulk._as_request(_row(1, site=site, locations=loc["location"], escorted="no", extendedBadge=cell,
                                            escortFirstName="", escortLastName="", **dates), problems))
        assert not problems
    form = FormData({"visitors": "1", "v-0-first": "Una", "v-0-last": "Escorted", "v-0-email": "una@x.example",
                      f"site-{site}": "1", f"loc-{site}": loc["location"], "escorted": "no", "host-first": "H",
                      "host-last": "H", "host-company": "T", "company": "C", "badge-start": dates["badgeStartDate"],
                      "badge-end": dates["badgeEndDate"]})
    body, _codes = _form_to_request(form, [{"code": site, "address": "", "timezone": "America/New_York",
                                            "locations": [loc["location"]]}], [])
    bodies.append(body)
    for body in bodies:
        assert body["isExtendedVisitorBadge"] is False
        r = await client.post("/v1/facility-access/visitors/access-requests", json=[body], headers=caller.headers)
        assert r.status_code == 200, r.text
        wo = r.json()["workOrder"][0]["workOrderId"]
        t = (await client.get(f"/v1/facility-access/access-tickets/{wo}", headers=caller.headers)).json()
        assert t["visitorBadgeType"] == "Visitor Access (Unescorted)"


def test_the_templates_sample_dates_are_ahead():
    from datetime import date

    sample = list(csv.DictReader(io.StringIO(bulk.template_csv())))[0]
    assert date.fromisoformat(sample["badgeStartDate"]) > date.today()
    assert date.fromisoformat(sample["badgeEndDate"]) > date.fromisoformat(sample["badgeStartDate"])


def test_outcomes_show_what_will_be_created_then_the_work_orders():
    rows = [{"n": 2, "label": "", "problems": [], "values": _row(1)},
            {"n": 3, "label": "", "problems": ["site: not granted"], "values": _row(2)}]
    imp = SimpleNamespace(rows_json=json.dumps(rows), groups_json=json.dumps([{"rows": [2], "request": {}}]),
                          results_json="{}")
    before = bulk.outcomes(imp)  # type: ignore[arg-type]
    assert [(o["line"], o["ok"], o["result"]) for o in before] == [(2, True, "will be created"),
                                                                   (3, False, "site: not granted")]
    imp.results_json = json.dumps({"0": {"workOrders": ["WO1000001"]}})
    assert bulk.outcomes(imp)[0]["workOrder"] == "WO1000001"  # type: ignore[arg-type]


async def test_daily_hours_from_csv_reach_the_ticket_and_a_bad_one_names_its_column(client, factory, db):
    """Issue 22: the access times are columns of the bulk file too; a wrong one names its column."""
    from types import SimpleNamespace as NS

    from tests.facility_access.conftest import request_for

    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    like = request_for(tenant)
    site, loc = like["sites"][0]["site"], like["sites"][0]["locations"][0]
    dates = dict(badgeStartDate=loc["accessStartDate"], badgeEndDate=loc["accessEndDate"])
    rows = bulk.read_csv(_file([_row(1, site=site, locations=loc["location"], accessStartTime="07:30",
                                     accessEndTime="19:00", **dates),
                                _row(2, site=site, locations=loc["location"], accessStartTime="7.30", **dates)]))
    ctx = NS(account_id=tenant.account_id, user_id=0, permissions=frozenset(), principal=NS(app_id=0))
    await bulk.check_rows(db, ctx, rows)  # type: ignore[arg-type]
    assert rows[0].ok, rows[0].problems
    assert any(p.startswith("accessStartTime:") for p in rows[1].problems), rows[1].problems
    r = await client.post("/v1/facility-access/visitors/access-requests", json=[rows[0].request],
                          headers=caller.headers)
    wo = r.json()["workOrder"][0]["workOrderId"]
    t = (await client.get(f"/v1/facility-access/access-tickets/{wo}", headers=caller.headers)).json()
    got = t["site"][0]["locations"][0]
    assert (got["accessStartTime"], got["accessEndTime"]) == ("07:30:00", "19:00:00")
