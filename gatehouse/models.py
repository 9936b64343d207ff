"""Imports every domain's models so the metadata (and Alembic) sees the whole schema."""

from gatehouse.accounts.models import Account, AccountMembership, MasterAccount, OperatorSite, SignInPolicy, User
from gatehouse.attachments.models import Attachment, Blob, StagedAttachment
from gatehouse.auth.models import AccessToken, App
from gatehouse.kit.epoch import SecurityEpoch
from gatehouse.comments.models import Comment
from gatehouse.facility_access.models import (
    BadgeHolder,
    IdempotencyKey,
    TicketCount,
    TicketEvent,
    WorkOrder,
    WorkOrderLocation,
)
from gatehouse.console.models import ConsoleLogin, ConsoleSession, Invitation, TotpFactor, TotpRecoveryCode
from gatehouse.events.models import Event
from gatehouse.kit.db import Base
from gatehouse.notifications.models import AccountNotification
from gatehouse.operators.models import RollCallMark, VisitorPhoto
from gatehouse.sites.models import AccountLocation, AccountSite, Location, Site, SiteRules
from gatehouse.sso.models import SsoLogin, SsoProvider
from gatehouse.watchlist.models import SecurityHold, WatchlistEntry, WatchlistVersion
from gatehouse.webhooks.models import WebhookEndpoint
from gatehouse.worker.models import DeliveryAttempt, OutboxMessage

__all__ = [
    "AccessToken", "Account", "AccountLocation", "AccountMembership", "AccountSite", "App",
    "Attachment", "Base", "Blob", "Comment", "IdempotencyKey", "Location", "MasterAccount",
    "OperatorSite", "SecurityEpoch", "Site", "StagedAttachment", "TicketCount", "TicketEvent",
    "User", "WorkOrder", "WorkOrderLocation", "Event", "OutboxMessage", "DeliveryAttempt", "WebhookEndpoint", "ConsoleLogin", "ConsoleSession",
    "AccountNotification", "BadgeHolder", "RollCallMark", "VisitorPhoto", "SiteRules", "TotpFactor", "TotpRecoveryCode", "Invitation",
    "SecurityHold", "WatchlistEntry", "WatchlistVersion", "SignInPolicy", "SsoLogin", "SsoProvider",
]
