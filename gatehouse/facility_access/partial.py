"""What did parse in a create body that failed its types, so the business rules can still be
checked on it (issue 15: all-or-nothing must still list every problem). Each field is validated
alone; list elements that fail become None so the rules' field paths keep their indexes."""

from __future__ import annotations

import json
from functools import cache
from typing import Annotated, Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from gatehouse.facility_access.schemas import AccessRequestIn, LocationIn, SiteIn, VisitorIn

MAX_REQUESTS = 10


@cache
def _adapter(model: type[BaseModel], name: str) -> TypeAdapter[Any]:
    info = model.model_fields[name]
    field_type: Any = Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
    return TypeAdapter(field_type)


def _fields(model: type[BaseModel], item: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    good: dict[str, Any] = {}
    bad: set[str] = set()
    for name in model.model_fields:
        if name not in item:
            continue
        try:
            good[name] = _adapter(model, name).validate_python(item[name], strict=True)
        except ValidationError:
            bad.add(name)
    return good, bad


def _element(model: type[BaseModel], value: Any) -> Any:
    try:
        return model.model_validate(value, strict=True)
    except ValidationError:
        return None


def _site(value: Any) -> Any:
    if not isinstance(value, dict):
        return None
    good, bad = _fields(SiteIn, value)
    if "site" not in good:
        return None
    locations = value.get("locations") if "locations" in bad else None
    if isinstance(locations, list):
        good["locations"] = [_element(LocationIn, loc) for loc in locations[:10]]
    return SiteIn.model_construct(**{"locations": [], **good})


def partial_requests(raw: bytes) -> list[Any]:
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return []
    if not isinstance(data, list):
        return []
    out: list[Any] = []
    for item in data[:MAX_REQUESTS]:
        if not isinstance(item, dict):
            out.append(None)
            continue
        good, bad = _fields(AccessRequestIn, item)
        if "visitors" in bad and isinstance(item.get("visitors"), list):
            good["visitors"] = [_element(VisitorIn, v) for v in item["visitors"][:10]]
        if "sites" in bad and isinstance(item.get("sites"), list):
            good["sites"] = [_site(s) for s in item["sites"][:10]]
        for name in bad - {"visitors", "sites"}:
            good.pop(name, None)
        request = AccessRequestIn.model_construct(**good)
        object.__setattr__(request, "invalid_fields", frozenset(bad))  # rules skip what already failed
        out.append(request)
    return out
