"""The notifications polling API (SPEC §13), for clients without webhooks. Thin: parse, call
`inbox`, return the wire shape."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel

from gatehouse.auth.dependencies import require
from gatehouse.auth.principal import AccountContext
from gatehouse.kit.db import DatabaseDep
from gatehouse.kit.errors import ErrorDetail, ValidationFailed, error_responses
from gatehouse.kit.validation import JsonBody
from gatehouse.kit.wire import ApiModel
from gatehouse.notifications import inbox

router = APIRouter(tags=["Notifications"])
CanReadNotifications = Annotated[AccountContext, Depends(require("notifications:read"))]
NotificationId = Annotated[str, Path(max_length=64, description="The notification's id.")]


class NotificationOut(BaseModel):
    notificationId: str
    type: str
    title: str
    message: str
    ticketId: str
    createdOn: str
    readFlag: bool
    deleteFlag: bool


class NotificationFlagsIn(ApiModel):
    readFlag: bool | None = None
    deleteFlag: bool | None = None
    isDcimNotification: bool | None = None


_body = JsonBody(NotificationFlagsIn, name="NotificationFlags")


@router.get("/v1/notifications", response_model=list[NotificationOut],
            summary="The account's notifications, newest first", responses=error_responses(400, 401, 403))
async def list_notifications(
    ctx: CanReadNotifications, db: DatabaseDep,
    type: Annotated[str | None, Query(max_length=64, description="Only this type (an event type, e.g. "
                                                                  "access_ticket.approved).")] = None,
    timestamp: Annotated[str | None, Query(max_length=19, description="yyyy-MM-dd HH:mm:ss, UTC: only newer ones.",
                                           pattern=r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")] = None,
):
    since = None
    if timestamp:
        try:
            since = datetime.strptime(timestamp, "%Y-%m-%d %H:%M:%S")
        except ValueError:
            raise ValidationFailed([ErrorDetail(field="timestamp", code="INVALID_DATE", message=(
                "Query parameter 'timestamp' must be a date-time in the format yyyy-MM-dd HH:mm:ss (UTC)."))]) from None
    return await inbox.listed(db, ctx.account_id, type or None, since)


@router.get("/v1/notifications/{notificationId}", response_model=NotificationOut, summary="One notification",
            responses=error_responses(400, 401, 403, 404))
async def get_notification(ctx: CanReadNotifications, db: DatabaseDep, notificationId: NotificationId
                           ):
    return await inbox.one(db, ctx.account_id, notificationId)


@router.put("/v1/notifications/{notificationId}", response_model=NotificationOut,
            summary="Mark a notification read or deleted", openapi_extra=_body.openapi_extra,
            responses=error_responses(400, 401, 403, 404, 413, 415))
async def flag_notification(ctx: CanReadNotifications, db: DatabaseDep, notificationId: NotificationId,
                            body: Annotated[NotificationFlagsIn, Depends(_body)]):
    changes = {column: value for column, value in (("read_flag", body.readFlag), ("delete_flag", body.deleteFlag),
                                                   ("dcim", body.isDcimNotification)) if value is not None}
    return await inbox.flag(db, ctx.account_id, notificationId, changes)
