"""SPEC §10's table as a pure function: who gets which mail, deduplicated."""

from __future__ import annotations

from gatehouse.notifications.recipients import TicketFacts, mails_for

LIST = "a@x.example, A@X.example ,b@x.example"


def facts(status: str = "Pending Approval", requester: str | None = "req@x.example") -> TicketFacts:
    return TicketFacts(status, LIST, "visitor@v.example", requester)


def test_created_pending_tells_the_list_and_the_approvers():
    got = mails_for("access_ticket.created", {"to": "Pending Approval"}, facts(),
                    approver_emails=["boss@x.example", "b@x.example"])
    assert sorted(got) == [("a@x.example", "request_received"), ("b@x.example", "approval_needed"),
                           ("boss@x.example", "approval_needed")]


def test_approval_sends_the_pass_and_the_notice_never_both():
    for event, data in (("access_ticket.created", {"to": "Approved"}), ("access_ticket.approved", {})):
        got = mails_for(event, data, TicketFacts("Approved", "visitor@v.example,a@x.example", "Visitor@V.example", None))
        assert sorted(got) == [("Visitor@V.example", "visitor_pass"), ("a@x.example", "approved")]


def test_denied_cancelled_checked_in_and_comments():
    assert sorted(mails_for("access_ticket.denied", {"reason": "r"}, facts())) == [
        ("a@x.example", "denied"), ("b@x.example", "denied"), ("req@x.example", "denied")]
    assert ("visitor@v.example", "visitor_cancelled") in mails_for("access_ticket.cancelled", {"from": "Approved"}, facts())
    assert ("visitor@v.example", "visitor_cancelled") not in mails_for(
        "access_ticket.cancelled", {"from": "Pending Approval"}, facts())
    assert len(mails_for("access_ticket.checked_in", {}, facts())) == 2
    assert mails_for("comment.created", {}, facts(), actor_kind="user") == []
    assert len(mails_for("comment.created", {}, facts(), actor_kind="operator")) == 2
    assert mails_for("access_ticket.completed", {}, facts()) == []
