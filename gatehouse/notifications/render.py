"""Mails built from the templates in ./templates (Jinja2; the HTML parts autoescaped, so a
visitor named `<b>x</b>` reads as text) around the ticket's one presenter."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import UTC, datetime
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.image import MIMEImage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from typing import Any
from zoneinfo import ZoneInfo

import segno
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from gatehouse.kit.sitetime import window_text

_env = Environment(loader=PackageLoader("gatehouse.notifications", "templates"),
                   autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
                   undefined=StrictUndefined, keep_trailing_newline=True,
                   auto_reload=False)  # package data never changes under a running process: no stat per mail
_env.filters["window"] = window_text  # a location's access window, site time, zone named

SUBJECTS = {
    "visitor_pass": "Your {pass_name} for {site} on {start}: {wo}",
    "request_received": "{wo} at {site}: {what} request received",
    "approval_needed": "{wo} at {site}: approval needed for {visitor}",
    "approved": "{wo} at {site}: {what} approved",
    "denied": "{wo} at {site}: {what} denied",
    "cancelled": "{wo} at {site}: {what} cancelled",
    "visitor_cancelled": "Your visit to {site} is cancelled: {wo}",
    "checked_in": "{visitor} checked in at {site} ({wo})",
    "operator_comment": "{wo} at {site}: a comment from the site team",
    "overstayed": "{visitor} is still on site at {site} after their access ended ({wo})",
    "watchlist_hit": "Security hold at {site}: {visitor} matches the watchlist ({wo})",
    "visit_reminder": "Tomorrow: your visit to {site} ({wo})",
    "badge_deactivated": "{wo}: the permanent badge of {visitor} was deactivated after a year unused",
}


OPERATOR_MAILS = frozenset({"watchlist_hit"})

# what a ticket is, in a sentence: its request type's (and a termination's) words
WHAT = {"Visitor Access": "visitor access", "Permanent Badge": "permanent badge", "PoP/POE Room Access":
        "PoP/POE room access"}
PASS_NAME = {"Visitor Access": "visitor pass", "Permanent Badge": "permanent badge pass",
             "PoP/POE Room Access": "PoP/POE room pass"}


def words(request_type: str, category: str) -> dict[str, str]:
    what = WHAT.get(request_type, "visitor access")
    if category in ("Terminate All Visitor Access", "Terminate All Access"):
        what = "access termination"
    return {"what": what, "pass_name": PASS_NAME.get(request_type, "visitor pass")}


def message_id(event_id: str, address: str, kind: str) -> str:
    """The same on every retry of this mail, so receivers and the .eml folder see one message."""
    digest = hashlib.sha256(f"{event_id}|{address.lower()}|{kind}".encode()).hexdigest()[:24]
    return f"<{digest}.{event_id}@gatehouse>"


def qr_png(text: str) -> bytes:
    buf = io.BytesIO()
    # a full QR code, never a Micro QR: desk scanners and phone cameras all read the full one
    segno.make_qr(text, error="m").save(buf, kind="png", scale=8, border=4)
    return buf.getvalue()


def build(payload: dict[str, Any], view: dict[str, Any], *, mail_from: str, public_url: str) -> Message:
    """`view`: {"ticket": presenter output, "site": {...}, "comment": text or ""}."""
    kind = payload["kind"]
    ticket, site = view["ticket"], view["site"]
    if payload.get("status"):
        ticket = {**ticket, "ticketStatus": payload["status"]}
    locations = ticket["site"][0]["locations"] if ticket.get("site") else []
    at = datetime.fromisoformat(payload["at"].replace("Z", "+00:00"))
    local_time = at.astimezone(ZoneInfo(site["timezone"])).strftime("%Y-%m-%d %H:%M")
    qr_cid = make_msgid(domain="gatehouse")[1:-1]
    context = {
        "ticket": ticket, "site": site, "locations": locations, "reason": payload.get("reason", ""),
        "badge": payload.get("badgeNumber", ""), "comment": view.get("comment", ""), "actor": payload.get("actor", ""),
        "local_time": local_time, "qr_cid": qr_cid,
        "link": f"{public_url.rstrip('/')}/console/requests/{ticket['ticketId']}",
        "visit_url": view.get("visit_url", ""),
        "entry_id": payload.get("entryId", ""), "matched_on": payload.get("matchedOn", ""),
    }
    if kind in OPERATOR_MAILS:  # written to the site's operators: their desk's page of the ticket
        context["link"] = f"{public_url.rstrip('/')}/console/desk/tickets/{ticket['ticketId']}"
    named = words(ticket.get("requestType", ""), ticket.get("ticketCategory", ""))
    context.update(named, pass_sent=named["what"] != "access termination")
    subject = SUBJECTS[kind].format(wo=ticket["ticketId"], site=site["code"], start=ticket["badgeStartDate"],
                                    visitor=f"{ticket['contactFirstName']} {ticket['contactLastName']}", **named)
    context["subject"] = subject
    qr = None
    if kind == "visitor_pass":
        qr = MIMEImage(qr_png(ticket["ticketId"]), "png")
        qr["Content-ID"] = f"<{qr_cid}>"
        qr.add_header("Content-Disposition", "inline", filename=f"{ticket['ticketId']}.png")
    calendar = None
    if view.get("ics"):  # the visit in the visitor's calendar; a cancellation withdraws it (same UIDs)
        calendar = MIMEText(view["ics"].decode("utf-8"), "calendar", _UTF8)
        calendar.set_param("method", view.get("ics_method", "PUBLISH"))
        calendar.add_header("Content-Disposition", "attachment", filename=f"visit-{ticket['ticketId']}.ics")
    return _message(payload, subject, mail_from, context, work_order=ticket["ticketId"], related=qr,
                    attachment=calendar)


def build_notice(payload: dict[str, Any], *, mail_from: str) -> Message:
    """Mails about no ticket (a disabled webhook endpoint, an invitation)."""
    if payload.get("kind") == "invitation":
        subject = f"{payload.get('inviter', '')} invites you to Gatehouse for {payload.get('account', '')}"
        context = {"subject": subject, "inviter": payload.get("inviter", ""), "account": payload.get("account", ""),
                   "link": payload.get("link", "")}
        return _message(payload, subject, mail_from, context)
    subject = "Gatehouse disabled a webhook endpoint"
    context = {"subject": subject, "webhook_id": payload.get("webhookId", ""), "url": payload.get("url", ""),
               "reason": payload.get("reason", "")}
    return _message(payload, subject, mail_from, context)


_UTF8: Any = Charset("utf-8")  # Any: the email package takes a Charset where its stubs say str
_UTF8.body_encoding = QP  # quoted-printable: an .eml opened as text is still readable


_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def _header(value: str) -> Any:
    """A str, or a Header for non-ASCII text (the email package takes both where its stubs say str)."""
    # Names are checked on the way in, but rows older than that check (or an operator's import)
    # may hold a line break: in a header it would start a new header. One line, always.
    value = _CONTROLS.sub(" ", value)
    return value if value.isascii() else Header(value, "utf-8")


def _message(payload: dict[str, Any], subject: str, mail_from: str, context: dict[str, Any],
             work_order: str | None = None, related: MIMEImage | None = None,
             attachment: MIMEText | None = None) -> Message:
    """Headers every Gatehouse mail carries (SPEC §10), and its text and HTML parts from the templates.
    Built with the MIME classes, which store headers as given: EmailMessage re-parsed every header and
    parameter it set, most of a mail's cost in the worker's profile (py-spy), for the same bytes."""
    kind = payload["kind"]
    msg = MIMEMultipart("alternative")
    msg["Subject"] = _header(subject)
    msg["From"] = _address(mail_from)
    msg["To"] = _address(payload["to"])
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = message_id(payload["eventId"], payload["to"], kind)
    msg["Auto-Submitted"] = "auto-generated"
    if work_order:
        msg["X-Gatehouse-Work-Order"] = work_order
    msg["X-Gatehouse-Mail"] = kind
    msg.attach(MIMEText(_env.get_template(f"{kind}.txt").render(context), "plain", _UTF8))
    html = MIMEText(_env.get_template(f"{kind}.html").render(context), "html", _UTF8)
    if related is None:
        msg.attach(html)
    else:  # the visitor pass: the HTML and the QR image it shows (cid:), one multipart/related
        group = MIMEMultipart("related")
        group.attach(html)
        group.attach(related)
        msg.attach(group)
    if attachment is None:
        return msg
    mixed = MIMEMultipart("mixed")  # the message's text and HTML, then the file
    for name, value in msg.items():
        if name.lower() not in ("content-type", "mime-version"):
            mixed[name] = value
    for name in [n for n in msg.keys() if n.lower() not in ("content-type", "mime-version")]:
        del msg[name]
    mixed.attach(msg)
    mixed.attach(attachment)
    return mixed


def _address(value: str) -> str:
    """An address header: a display name outside ASCII is RFC 2047-encoded, the address kept."""
    if value.isascii():
        return value
    name, address = parseaddr(value)
    return formataddr((name, address), charset="utf-8")
