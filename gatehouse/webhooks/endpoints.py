"""`/v1/webhooks` (an account's, permission webhooks:manage) and `/ops/v1/webhooks` (an operator's
sites'). Another owner's webhook id is a 404 everywhere."""

# (no `from __future__ import annotations`: the routes below are built in a function whose
# dependency types are local variables, which FastAPI must see as values)

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from gatehouse.auth.dependencies import CurrentOperator, require
from gatehouse.auth.principal import AccountContext, Principal
from gatehouse.kit.db import DatabaseDep
from gatehouse.kit.deps import SettingsDep
from gatehouse.kit.errors import ErrorDetail, NotFound, ValidationFailed, error_responses
from gatehouse.kit.validation import JsonBody
from gatehouse.webhooks import service
from gatehouse.webhooks.repository import Owner
from gatehouse.webhooks.schemas import (
    DeliveriesPage,
    DeliveryOut,
    OperatorWebhookIn,
    WebhookIn,
    WebhookOut,
    WebhookPatch,
    WebhookWithSecretOut,
)

router = APIRouter(tags=["Webhooks"])
ADDITION = {"x-gatehouse-addition": True}
CanManage = Annotated[AccountContext, Depends(require("webhooks:manage"))]
WebhookId = Annotated[str, Path(max_length=36, description="The webhook's id (a uuid).")]
DeliveryId = Annotated[str, Path(max_length=18)]
Size = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=20)]
_create = JsonBody(WebhookIn, name="WebhookCreate")
_ops_create = JsonBody(OperatorWebhookIn, name="OperatorWebhookCreate")
_patch = JsonBody(WebhookPatch, name="WebhookUpdate")


def _account(ctx: AccountContext) -> Owner:
    return Owner(account_id=ctx.account_id)


def _ops(op: Principal) -> Owner:
    return Owner(sites=frozenset(op.operator_sites))


def _changes(body: WebhookPatch) -> dict:
    changes = {k: getattr(body, k) for k in body.model_fields_set}
    nulls = [k for k, v in changes.items() if v is None]
    if nulls or not changes:
        raise ValidationFailed([ErrorDetail(field=k, code="INVALID_VALUE", message=f"Payload '{k}' must not be null.")
                                for k in nulls] or [ErrorDetail(field="", code="MISSING_FIELD",
                                                                message="Payload must change at least one field.")])
    return changes


def _routes(prefix: str, owner_dep, owner_of, create_body, create_fn, who: str) -> None:
    """The same nine operations for both owners."""
    R = error_responses

    @router.post(prefix, response_model=WebhookWithSecretOut, status_code=201, openapi_extra={
        **create_body.openapi_extra, **ADDITION}, summary=f"Create a webhook endpoint ({who}); the secret is shown once",
        responses=R(400, 401, 403, 404, 409, 413, 415), operation_id=f"create{who}Webhook")
    async def create(caller: owner_dep, db: DatabaseDep, settings: SettingsDep,
                     body: Annotated[object, Depends(create_body)]):
        return await create_fn(caller, db, settings, body)

    @router.get(prefix, response_model=list[WebhookOut], openapi_extra=ADDITION, summary=f"List webhooks ({who})",
                responses=R(400, 401, 403), operation_id=f"list{who}Webhooks")
    async def listing(caller: owner_dep, db: DatabaseDep):
        return await service.listing(db, owner_of(caller))

    @router.get(prefix + "/{webhookId}", response_model=WebhookOut, openapi_extra=ADDITION,
                summary=f"Read a webhook ({who})", responses=R(400, 401, 403, 404), operation_id=f"get{who}Webhook")
    async def read(caller: owner_dep, db: DatabaseDep, webhookId: WebhookId):
        return await service.read(db, owner_of(caller), webhookId)

    @router.patch(prefix + "/{webhookId}", response_model=WebhookOut, openapi_extra={**_patch.openapi_extra, **ADDITION},
                  summary=f"Change a webhook ({who})", responses=R(400, 401, 403, 404, 413, 415),
                  operation_id=f"update{who}Webhook")
    async def update(caller: owner_dep, db: DatabaseDep, settings: SettingsDep, webhookId: WebhookId,
                     body: Annotated[WebhookPatch, Depends(_patch)]):
        return await service.update(db, owner_of(caller), webhookId, _changes(body), settings.webhook_allow_private)

    @router.delete(prefix + "/{webhookId}", status_code=204, response_class=Response, openapi_extra=ADDITION,
                   summary=f"Delete a webhook ({who})", responses=R(400, 401, 403, 404),
                   operation_id=f"delete{who}Webhook")
    async def delete(caller: owner_dep, db: DatabaseDep, webhookId: WebhookId):
        await service.delete(db, owner_of(caller), webhookId)
        return Response(status_code=204)

    @router.post(prefix + "/{webhookId}/rotate-secret", response_model=WebhookWithSecretOut, status_code=201,
                 openapi_extra=ADDITION, summary=f"New secret ({who}); the old one keeps signing beside it for 24 h",
                 responses=R(400, 401, 403, 404), operation_id=f"rotate{who}WebhookSecret")
    async def rotate(caller: owner_dep, db: DatabaseDep, webhookId: WebhookId):
        return await service.rotate(db, owner_of(caller), webhookId)

    @router.post(prefix + "/{webhookId}/test", response_model=DeliveryOut, status_code=202, openapi_extra=ADDITION,
                 summary=f"Send a webhook.test event ({who})", responses=R(400, 401, 403, 404),
                 operation_id=f"test{who}Webhook")
    async def test(caller: owner_dep, db: DatabaseDep, webhookId: WebhookId):
        sent = await service.send_test(db, owner_of(caller), webhookId)
        return {**sent, "attemptedAt": None, "durationMs": None, "responseStatus": None, "error": None,
                "nextAttemptAt": None}

    @router.get(prefix + "/{webhookId}/deliveries", response_model=DeliveriesPage, openapi_extra=ADDITION,
                summary=f"Delivery attempts, newest first ({who})", responses=R(400, 401, 403, 404),
                operation_id=f"list{who}WebhookDeliveries")
    async def deliveries(caller: owner_dep, db: DatabaseDep, webhookId: WebhookId, size: Size = 50,
                         cursor: Cursor = None):
        return await service.deliveries(db, owner_of(caller), webhookId, cursor=cursor, size=size)

    @router.post(prefix + "/{webhookId}/deliveries/{deliveryId}/redeliver", response_model=DeliveryOut,
                 status_code=202, openapi_extra=ADDITION, summary=f"Send a delivery again ({who})",
                 responses=R(400, 401, 403, 404, 409), operation_id=f"redeliver{who}Webhook")
    async def redeliver(caller: owner_dep, db: DatabaseDep, webhookId: WebhookId, deliveryId: DeliveryId):
        return await service.redeliver(db, owner_of(caller), webhookId, deliveryId)


async def _create_account(ctx: AccountContext, db, settings, body: WebhookIn) -> dict:
    return await service.create(db, _account(ctx), site_code=None, url=body.url, event_types=body.eventTypes,
                                description=body.description, enabled=body.enabled, created_by=ctx.display_name,
                                allow_private=settings.webhook_allow_private)


async def _create_ops(op: Principal, db, settings, body: OperatorWebhookIn) -> dict:
    if body.site not in op.operator_sites:
        raise NotFound(f"Site '{body.site}' was not found.", code="SITE_NOTFOUND")
    return await service.create(db, Owner(sites=frozenset({body.site})), site_code=body.site, url=body.url,
                                event_types=body.eventTypes, description=body.description, enabled=body.enabled,
                                created_by=op.display_name, allow_private=settings.webhook_allow_private)


_routes("/v1/webhooks", CanManage, _account, _create, _create_account, "Account")
_routes("/ops/v1/webhooks", CurrentOperator, _ops, _ops_create, _create_ops, "Operator")
