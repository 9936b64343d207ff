"""The one vocabulary of events (SPEC §9). Everything that lists event types derives from here:
the trail's accepted types and the audit filter (`EventType`), the types a webhook endpoint may
subscribe to (`WEBHOOK`), and the ones that may cause mail (`MAILED`; who gets which mail is the
table in notifications/recipients.py). A new event type with a mail and a webhook touches this
file, the code that records it, the mail table and its templates."""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    TICKET_CREATED = "access_ticket.created"
    TICKET_APPROVED = "access_ticket.approved"
    TICKET_DENIED = "access_ticket.denied"
    TICKET_CANCELLED = "access_ticket.cancelled"
    TICKET_UPDATED = "access_ticket.updated"
    TICKET_CHECKED_IN = "access_ticket.checked_in"
    TICKET_CHECKED_OUT = "access_ticket.checked_out"
    TICKET_COMPLETED = "access_ticket.completed"
    BADGE_DEACTIVATED = "access_ticket.badge_deactivated"
    TICKET_OVERSTAYED = "access_ticket.overstayed"
    IDENTITY_CHECKED = "access_ticket.identity_checked"
    PHOTO_TAKEN = "access_ticket.photo_taken"
    ESCORT_CONFIRMED = "access_ticket.escort_confirmed"
    ROLL_CALL_STARTED = "roll_call.started"
    ROLL_CALL_CLOSED = "roll_call.closed"
    VISIT_REMINDED = "visit.reminded"
    VISIT_PRE_CHECKED_IN = "visit.pre_checked_in"
    WATCHLIST_HIT = "security.watchlist_hit"
    HOLD_DECIDED = "security.hold_decided"
    WATCHLIST_ENTRY_CHANGED = "watchlist.entry_changed"
    COMMENT_CREATED = "comment.created"
    ATTACHMENT_CREATED = "attachment.created"
    ATTACHMENT_DELETED = "attachment.deleted"
    APP_CREATED = "app.created"
    APP_SECRET_ROTATED = "app.secret_rotated"
    APP_DISABLED = "app.disabled"
    APP_UPDATED = "app.updated"
    GRANT_CHANGED = "grant.changed"
    SITE_CHANGED = "site.changed"
    TOKEN_REFUSED = "auth.token_refused"
    LOCKED_OUT = "auth.locked_out"
    CONSOLE_LOGIN = "auth.console_login"
    CONSOLE_LOGIN_FAILED = "auth.console_login_failed"
    TOTP_ENROLLED = "auth.totp_enrolled"
    USER_INVITED = "user.invited"
    ACCOUNT_CHANGED = "account.changed"  # a master account or account created or changed (SPEC §16)
    OPERATOR_CHANGED = "operator.changed"
    SIGN_IN_POLICY_CHANGED = "auth.policy_changed"
    SSO_CHANGED = "auth.sso_changed"
    SSO_USER_CREATED = "auth.sso_user_created"
    OUTBOX_RETRIED = "outbox.retried"
    USER_DISABLED = "user.disabled"
    WEBHOOK_CREATED = "webhook.created"
    WEBHOOK_UPDATED = "webhook.updated"
    WEBHOOK_DELETED = "webhook.deleted"
    WEBHOOK_SECRET_ROTATED = "webhook.secret_rotated"


TICKET = frozenset(t for t in EventType if t.startswith("access_ticket."))
# SPEC §11: a ticket's changes, comments and new attachments; never security events
WEBHOOK = TICKET | {EventType.COMMENT_CREATED, EventType.ATTACHMENT_CREATED}
# SPEC §14: what a site's own endpoints (operators') may hear beyond those; never an account's
SECURITY = frozenset({EventType.WATCHLIST_HIT, EventType.HOLD_DECIDED})
SITE_WEBHOOK = WEBHOOK | SECURITY
# SPEC §10: the events whose mail table has rows (notifications/recipients.MAIL_TABLE)
MAILED = frozenset({EventType.TICKET_CREATED, EventType.TICKET_APPROVED, EventType.TICKET_DENIED,
                    EventType.TICKET_CANCELLED, EventType.TICKET_CHECKED_IN, EventType.COMMENT_CREATED,
                    EventType.BADGE_DEACTIVATED, EventType.TICKET_OVERSTAYED,
                    EventType.WATCHLIST_HIT})
