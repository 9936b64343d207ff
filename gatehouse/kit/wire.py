"""Wire formats shared by every endpoint: date-times, dates and the API model base."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import re

from pydantic import BaseModel, BeforeValidator, ConfigDict
from pydantic_core import PydanticCustomError

DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def fmt_datetime(value: datetime | str | None) -> str:
    """`yyyy-MM-dd HH:mm:ss` UTC; an absent value is "" as on the real API. A string is a value read
    raw from the database (SQLite text, PostgreSQL JSON): `2026-11-22 10:15:30.123` or `...T...`."""
    if not value:
        return ""
    if isinstance(value, str):
        return value[:19].replace("T", " ")
    return value.strftime(DATETIME_FORMAT)


def fmt_date(value: date | str | None) -> str:
    if not value:
        return ""
    return value[:10] if isinstance(value, str) else value.isoformat()


def fmt_iso_ms(value: datetime) -> str:
    """ISO 8601 UTC with milliseconds, as operator B writes it: 2019-07-02T02:46:27.105Z."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _parse_date(value: object) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise PydanticCustomError("INVALID_DATE", "must be a date in the format yyyy-MM-dd")


# A calendar date written exactly as yyyy-MM-dd (no times, no other layouts).
WireDate = Annotated[date, BeforeValidator(_parse_date)]


class ApiModel(BaseModel):
    """Request bodies: unknown fields are refused so typos are never silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class ResponseModel(BaseModel):
    model_config = ConfigDict(extra="ignore")
