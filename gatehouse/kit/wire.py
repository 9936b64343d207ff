"""Wire formats shared by every endpoint: date-times, dates and the API model base."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from typing import Annotated, Any

from annotated_types import GroupedMetadata
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, StringConstraints, WithJsonSchema
from pydantic_core import PydanticCustomError

DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def fmt_datetime(value: datetime | str | None) -> str:
    """`yyyy-MM-dd HH:mm:ss` UTC; an absent value is "" as on the real API. A string is a value read
    raw from the database (SQLite text, PostgreSQL JSON): `2026-11-22 10:15:30.123` or `...T...`."""
    if not value:
        return ""
    if isinstance(value, str):
        return value[:19].replace("T", " ")
    return _datetime_text(value)


@lru_cache(maxsize=65536)
def _datetime_text(value: datetime) -> str:
    # Cached: a list page formats 75 of these, the same ones page after page (formatting them was
    # 12-15% of a list request, py-spy; a hit costs a seventh). The fields as they are: values are UTC.
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


_TIME = re.compile(r"^(\d{2}):(\d{2})(?::(\d{2}))?$")


def _parse_time(value: object) -> time:
    if isinstance(value, time):
        return value
    m = _TIME.match(value) if isinstance(value, str) else None
    if m and int(m.group(1)) < 24 and int(m.group(2)) < 60 and int(m.group(3) or 0) < 60:
        return time(int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))
    raise PydanticCustomError("INVALID_TIME", "must be a time of day in the format HH:mm or HH:mm:ss (00:00 to 23:59)")


def fmt_time(value: time | str | None) -> str:
    """A time of day on the wire: HH:mm:ss, as the real API's own clients send it."""
    if value is None:
        return ""
    if isinstance(value, str):  # a raw row (SQLite's text)
        value = time.fromisoformat(value[:8])
    return value.strftime("%H:%M:%S")


# Characters no one-line text may hold: C0/C1 controls (CR and LF break mail headers and CSV
# lines), and the bidirectional embeddings, overrides and isolates that make a name read as another
# (U+202E turns "exe.txt" around). U+2028/9 are line breaks in disguise.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029")


def line_problem(value: str, multiline: bool = False) -> str | None:
    """Why `value` may not be stored as text a person reads, or None. `multiline` allows tab, LF, CR."""
    for ch in value:
        if ch in _BIDI or (unicodedata.category(ch) == "Cc" and not (multiline and ch in "\t\n\r")):
            return f"must not contain the control character U+{ord(ch):04X} {unicodedata.name(ch, '')}".strip()
    return None


def _one_line(value: str) -> str:
    problem = line_problem(value)
    if problem:
        raise PydanticCustomError("INVALID_CHARACTER", problem)
    return value


def _lines(value: str) -> str:
    problem = line_problem(value, multiline=True)
    if problem:
        raise PydanticCustomError("INVALID_CHARACTER", problem)
    return value


@dataclass(frozen=True)
class Text(GroupedMetadata):
    """`Annotated[str, Text(max, min)]`: one line of text (a name, a company, a phone, a site), no
    control or bidi-override characters. (Metadata, not a type-making function: a type checker
    reads the annotation as the `str` it is.)"""

    max_length: int
    min_length: int = 0

    def __iter__(self) -> Iterator[Any]:
        yield StringConstraints(min_length=self.min_length, max_length=self.max_length)
        yield AfterValidator(_one_line)


@dataclass(frozen=True)
class LongText(Text):
    """`Annotated[str, LongText(max, min)]`: free text (notes, comments, reasons); line breaks and
    tabs allowed, other controls not."""

    def __iter__(self) -> Iterator[Any]:
        yield StringConstraints(min_length=self.min_length, max_length=self.max_length)
        yield AfterValidator(_lines)


# A calendar date written exactly as yyyy-MM-dd (no times, no other layouts).
WireDate = Annotated[date, BeforeValidator(_parse_date)]
# A time of day, HH:mm or HH:mm:ss (the real API took "06:22:00"; the seed says 00:00 to 23:59).
WireTime = Annotated[time, BeforeValidator(_parse_time), WithJsonSchema(
    {"type": "string", "pattern": r"^\d{2}:\d{2}(:\d{2})?$", "example": "08:00"})]


class ApiModel(BaseModel):
    """Request bodies: unknown fields are refused so typos are never silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class ResponseModel(BaseModel):
    model_config = ConfigDict(extra="ignore")
