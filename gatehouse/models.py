"""Imports every domain's models so the metadata (and Alembic) sees the whole schema."""

from gatehouse.accounts.models import Account, AccountMembership, MasterAccount, OperatorSite, SignInPolicy, User
from gatehouse.attachments.models import Attachment, Blob, StagedAttachment
from gatehouse.auth.models import AccessToken, App
from gatehouse.comments.models import Comment
from gatehouse.console.models import ConsoleLogin, ConsoleSession, Invitation, TotpFactor, TotpRecoveryCode
from gatehouse.events.models import Event
from gatehouse.facility_access.models import (
    BadgeHolder,
    IdempotencyKey,
    TicketCount,
    TicketEvent,
    WorkOrder,
    WorkOrderLocation,
)
from gatehouse.kit.db import Base
from gatehouse.kit.epoch import SecurityEpoch
from gatehouse.notifications.models import AccountNotification
from gatehouse.operators.models import RollCallMark, VisitorPhoto
from gatehouse.sites.models import AccountLocation, AccountSite, Location, Site, SiteRules
from gatehouse.sso.models import SsoLogin, SsoProvider
from gatehouse.watchlist.models import SecurityHold, WatchlistEntry, WatchlistVersion
from gatehouse.webhooks.models import WebhookEndpoint
from gatehouse.worker.models import DeliveryAttempt, OutboxMessage

__all__ = [
    "AccessToken",
    "Account",
    "AccountLocation",
    "AccountMembership",
    "AccountNotification",
    "AccountSite",
    "App",
    "Attachment",
    "BadgeHolder",
    "Base",
    "Blob",
    "Comment",
    "ConsoleLogin",
    "ConsoleSession",
    "DeliveryAttempt",
    "Event",
    "IdempotencyKey",
    "Invitation",
    "Location",
    "MasterAccount",
    "OperatorSite",
    "OutboxMessage",
    "RollCallMark",
    "SecurityEpoch",
    "SecurityHold",
    "SignInPolicy",
    "Site",
    "SiteRules",
    "SsoLogin",
    "SsoProvider",
    "StagedAttachment",
    "TicketCount",
    "TicketEvent",
    "TotpFactor",
    "TotpRecoveryCode",
    "User",
    "VisitorPhoto",
    "WatchlistEntry",
    "WatchlistVersion",
    "WebhookEndpoint",
    "WorkOrder",
    "WorkOrderLocation",
]
