"""The status rules of `facility_access/lifecycle.py`, as a table (SPEC §3)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from types import SimpleNamespace

import pytest

from gatehouse.facility_access import lifecycle
from gatehouse.facility_access.lifecycle import Action, Status
from gatehouse.kit.errors import Conflict

EXPECTED = {
    (Status.PENDING, Action.APPROVE): Status.APPROVED, (Status.PENDING, Action.DENY): Status.DENIED,
    (Status.APPROVED, Action.CHECK_IN): Status.IN_PROGRESS, (Status.IN_PROGRESS, Action.CHECK_IN): Status.IN_PROGRESS,
    (Status.IN_PROGRESS, Action.CHECK_OUT): Status.IN_PROGRESS,
    (Status.IN_PROGRESS, Action.CHECK_OUT_FINAL): Status.COMPLETED,
    (Status.APPROVED, Action.COMPLETE): Status.COMPLETED, (Status.IN_PROGRESS, Action.COMPLETE): Status.COMPLETED,
    (Status.PENDING, Action.CANCEL): Status.CANCELLED, (Status.APPROVED, Action.CANCEL): Status.CANCELLED,
    (Status.IN_PROGRESS, Action.CANCEL): Status.CANCELLED,
    (Status.APPROVED, Action.EXPIRE): Status.COMPLETED, (Status.IN_PROGRESS, Action.EXPIRE): Status.COMPLETED,
    (Status.PENDING, Action.EXPIRE): Status.CANCELLED,
    # SPEC §13: a terminate work order carried out; a permanent badge deactivated for disuse
    (Status.APPROVED, Action.CARRY_OUT): Status.COMPLETED,
    (Status.APPROVED, Action.DEACTIVATE): Status.COMPLETED, (Status.IN_PROGRESS, Action.DEACTIVATE): Status.COMPLETED,
    # a watchlist hold upheld (SPEC §14): denied before the visit, never once it is under way
    (Status.PENDING, Action.SECURITY_DENY): Status.DENIED, (Status.APPROVED, Action.SECURITY_DENY): Status.DENIED,
}


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("action", [a for a in Action if a != Action.CREATE])
def test_transition_table(status, action):
    assert lifecycle.target_of(status.value, action) == EXPECTED.get((status, action))
    if status in lifecycle.FINAL:  # nothing leaves a final status
        assert lifecycle.target_of(status.value, action) is None


def test_every_move_has_its_event():
    for (action, target) in {(a, t) for (_s, a), t in EXPECTED.items()}:
        assert (action, target) in lifecycle.EVENT_OF


def ticket(**kw):  # type: ignore[no-untyped-def]
    base = dict(id="WO0000001", status="Approved", badge_start=date(2026, 1, 10), badge_end=date(2026, 1, 12),
                extended_badge=False)
    return SimpleNamespace(**{**base, **kw})


def test_rules_in_one_place():
    assert lifecycle.initial_status(requester_approves=False, auto_approve=False) == Status.PENDING
    assert lifecycle.initial_status(requester_approves=True, auto_approve=False) == Status.APPROVED
    assert lifecycle.initial_status(requester_approves=False, auto_approve=True) == Status.APPROVED
    with pytest.raises(Conflict):
        lifecycle.ensure_open(ticket(status="Cancelled"), "comments")
    lifecycle.ensure_open(ticket(status="In Progress"), "comments")
    window = (datetime(2026, 1, 10, 8, 0), datetime(2026, 1, 12, 17, 0))
    lifecycle.ensure_can_check_in(ticket(), datetime(2026, 1, 11, 12), window, "IAD024")
    with pytest.raises(Conflict, match="OUTSIDE|gives access"):
        lifecycle.ensure_can_check_in(ticket(), datetime(2026, 1, 13, 12), window, "IAD024")
    with pytest.raises(Conflict):
        lifecycle.ensure_can_check_in(ticket(status="In Progress", extended_badge=True), datetime(2026, 1, 11, 12),
                                      window, "X")
    assert lifecycle.check_out_action(ticket(), date(2026, 1, 11)) == Action.CHECK_OUT
    assert lifecycle.check_out_action(ticket(), date(2026, 1, 12)) == Action.CHECK_OUT_FINAL
    with pytest.raises(Conflict):
        lifecycle.ensure_approvable(ticket(status="Pending Approval"), date(2026, 1, 13))
    lifecycle.ensure_approvable(ticket(status="Pending Approval"), date(2026, 1, 12))
    assert lifecycle.end_of_badge_due(ticket(), date(2026, 1, 13))
    assert not lifecycle.end_of_badge_due(ticket(), date(2026, 1, 12))
    assert not lifecycle.end_of_badge_due(ticket(status="Completed"), date(2026, 1, 20))


D = datetime(2026, 12, 10, 12, 0)
WINDOW = (datetime(2026, 12, 10, 0, 0), datetime(2026, 12, 12, 23, 59))


@pytest.mark.parametrize(("status", "today", "extended", "expected"), [
    ("Pending Approval", D, False, ["comment"]),
    ("Approved", datetime(2026, 12, 9, 12), False, ["comment"]),          # a visit still to come: nothing but a comment
    ("Approved", D, False, ["check-in", "complete", "comment"]),  # inside its window
    ("Approved", datetime(2026, 12, 13, 12), False, ["complete", "comment"]),  # a no-show, closed by hand
    ("In Progress", D, False, ["check-in", "check-out", "complete", "comment"]),  # standard badges return daily
    ("In Progress", D, True, ["check-out", "complete", "comment"]),
    ("Completed", D, False, []), ("Cancelled", D, False, []), ("Approval Denied", D, False, []),
])
def test_the_desk_offers_what_the_rules_accept(status, today, extended, expected):
    ticket = SimpleNamespace(id="WO1", status=status, extended_badge=extended, badge_end=WINDOW[1].date())
    assert lifecycle.desk_actions(ticket, today, WINDOW) == expected  # type: ignore[arg-type]


def test_completing_a_visit_still_to_come_is_refused():
    ticket = SimpleNamespace(id="WO1", status="Approved", extended_badge=False, badge_end=WINDOW[1].date())
    with pytest.raises(Conflict) as caught:
        lifecycle.ensure_can_complete(ticket, datetime(2026, 12, 9, 23, 30), WINDOW)  # type: ignore[arg-type]
    assert caught.value.code == "NOT_STARTED"


EARLY = timedelta(minutes=60)


@pytest.mark.parametrize(("now", "allowed"), [
    (datetime(2026, 12, 10, 6, 59), False),   # more than an hour early
    (datetime(2026, 12, 10, 7, 0), True),     # the early-arrival allowance
    (datetime(2026, 12, 10, 8, 0), True),
    (datetime(2026, 12, 11, 3, 0), True),     # one window from the first start to the last end
    (datetime(2026, 12, 12, 17, 0), True),    # its last minute
    (datetime(2026, 12, 12, 17, 1), False),
])
def test_check_in_follows_the_window_with_its_times(now, allowed):
    locs = [SimpleNamespace(access_start=date(2026, 12, 10), access_end=date(2026, 12, 12),
                            access_start_time=time(8, 0), access_end_time="17:00:00.000000")]
    t = ticket(badge_start=date(2026, 12, 10), badge_end=date(2026, 12, 12))
    window = lifecycle.access_window(t, locs)  # type: ignore[arg-type]
    assert window == (datetime(2026, 12, 10, 8, 0), datetime(2026, 12, 12, 17, 0))
    if allowed:
        lifecycle.ensure_can_check_in(t, now, window, "IAD024, America/New_York", EARLY)
    else:
        with pytest.raises(Conflict) as caught:
            lifecycle.ensure_can_check_in(t, now, window, "IAD024, America/New_York", EARLY)
        assert "2026-12-10 08:00 to 2026-12-12 17:00 (IAD024, America/New_York)" in caught.value.message
    assert ("check-in" in lifecycle.desk_actions(t, now, window, EARLY)) is allowed


def test_a_security_hold_stops_check_in_until_cleared():
    from datetime import date, datetime, time

    from gatehouse.facility_access.models import WorkOrder

    ticket = WorkOrder(id="WO1", status=Status.APPROVED.value, extended_badge=False, badge_start=date(2026, 5, 1),
                       badge_end=date(2026, 5, 1))
    window = (datetime(2026, 5, 1, 0, 0), datetime.combine(date(2026, 5, 1), time(23, 59)))
    now = datetime(2026, 5, 1, 10, 0)
    for hold, offered in ((None, True), ("cleared", True), ("open", False), ("upheld", False)):
        assert ("check-in" in lifecycle.desk_actions(ticket, now, window, hold=hold)) is offered
    with pytest.raises(Conflict) as refused:
        lifecycle.ensure_not_held("WO1", "open")
    assert refused.value.code == "SECURITY_HOLD"
    with pytest.raises(Conflict):
        lifecycle.ensure_hold_open("WO1", "cleared")
    lifecycle.ensure_hold_open("WO1", "open")
