from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from gatehouse.kit.wire import ApiModel, Text

# what check_url takes, as far as a pattern can say it (the address's range is checked at delivery)
Url = Annotated[str, StringConstraints(min_length=8, max_length=2000),
                Field(json_schema_extra={"pattern": r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#@]+"})]
EventType = Annotated[str, StringConstraints(min_length=1, max_length=64)]
EventTypes = Annotated[list[EventType], Field(min_length=1, max_length=30,
                                              description='Event types to receive; ["*"] for all.')]
Description = Annotated[str, Text(200)]


class WebhookIn(ApiModel):
    url: Url
    eventTypes: EventTypes
    description: Description = ""
    enabled: bool = True


class OperatorWebhookIn(WebhookIn):
    site: Annotated[str, StringConstraints(min_length=1, max_length=6)] = Field(
        description="One of the operator's sites: the endpoint hears that site's events.")


class WebhookPatch(ApiModel):
    url: Url | None = None
    eventTypes: EventTypes | None = None
    description: Description | None = None
    enabled: bool | None = None


class WebhookOut(BaseModel):
    webhookId: str
    url: str
    eventTypes: list[str]
    description: str
    enabled: bool
    disabledReason: str | None
    createdDate: str = Field(description="ISO 8601 UTC with milliseconds")
    lastUpdatedDate: str
    site: str | None = Field(None, description="Operator endpoints only: the site whose events it hears.")


class WebhookWithSecretOut(WebhookOut):
    secret: str = Field(description="whsec_ + base64; shown on create and rotate only. Verify deliveries with it.")


class DeliveryOut(BaseModel):
    deliveryId: str
    eventId: str
    eventType: str
    attemptedAt: str | None
    durationMs: int | None
    responseStatus: int | None
    error: str | None
    responseBody: str | None = Field(None, description="The first 1 KiB of the receiver's answer")
    nextAttemptAt: str | None
    status: str = Field(description="pending | delivered | failed | dead")


class DeliveriesPage(BaseModel):
    content: list[DeliveryOut]
    nextCursor: str | None
