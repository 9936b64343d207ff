"""The tolerant reader's parts (SPEC §1): what a request may leave unsaid or say loosely, how it is
named back (`Gatehouse-Ignored`), and strict mode."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import Request

from gatehouse.kit.errors import GatehouseError, ValidationFailed


def one_object_path(path: str) -> str:
    """'[0].visitors[1].visitorEmail' -> 'visitors[1].visitorEmail': a problem of a body sent as one
    object rather than a list of one."""
    return re.sub(r"^\[0\]\.?", "", path)


def rename_fields(exc: GatehouseError, rename: Callable[[str], str]) -> GatehouseError:
    """Rewrite the field paths of an error's details (and the messages that quote them): for a body
    the code read in another shape than the client sent."""
    for d in exc.details:
        new = rename(d.field)
        if new != d.field:
            d.message = d.message.replace(f"'{d.field}'", f"'{new}'")
            d.field = new
    if len(exc.details) == 1 and isinstance(exc, ValidationFailed):
        exc.message = exc.details[0].message
    return exc


STRICT_HEADER = "gatehouse-strict"
IGNORED_HEADER = "Gatehouse-Ignored"


def is_strict(request: Request) -> bool:
    """`Gatehouse-Strict: true`, or a caller whose app was created strict: unknown fields and
    parameters refused, booleans JSON booleans only."""
    if request.headers.get(STRICT_HEADER, "").strip().lower() == "true":
        return True
    return bool(request.scope.get("state", {}).get("strict_app"))


def become_strict(request: Request) -> None:
    """The caller's app is strict (known once the token is read): what was read leniently before
    that — the query — is refused now, and everything read after is read strictly."""
    state = request.scope.setdefault("state", {})
    state["strict_app"] = True
    unknown = state.pop("unknown_query", None)
    if unknown:
        raise unknown_parameters(unknown, state.get("allowed_query", frozenset()))


def unknown_parameters(unknown: Sequence[str], allowed: frozenset[str]) -> ValidationFailed:
    from gatehouse.kit.errors import ErrorDetail

    return ValidationFailed([
        ErrorDetail(field=k, code="UNKNOWN_PARAMETER",
                    message=f"Query parameter '{k[:60]}' is not recognised"
                            + (f"; accepted: {', '.join(sorted(allowed))}." if allowed else "."))
        for k in dict.fromkeys(unknown)])


def ignored(request: Request, path: str) -> None:
    """Name a field or parameter that was ignored (the middleware writes the Gatehouse-Ignored header)."""
    request.scope.setdefault("state", {}).setdefault("ignored", []).append(path)


def ignored_header(paths: list[str]) -> bytes:
    """At most 20 paths, then how many more; under 2 KiB whatever the paths."""
    shown = [p[:80] for p in dict.fromkeys(paths)]
    text = ", ".join(shown[:20]) + (f", …({len(shown) - 20} more)" if len(shown) > 20 else "")
    return text.encode("utf-8")[:2000]


def _not_json(constant: str) -> Any:
    raise ValueError(constant)


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(text)
    return value


def _parent(data: Any, loc: Sequence[Any]) -> Any:
    for part in loc[:-1]:
        if isinstance(data, dict) and isinstance(part, str) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return None
    return data


def _drop(data: Any, loc: Sequence[Any]) -> bool:
    parent = _parent(data, loc)
    if isinstance(parent, dict) and loc and loc[-1] in parent:
        del parent[loc[-1]]
        return True
    return False


def _set(data: Any, loc: Sequence[Any], value: Any) -> bool:
    parent = _parent(data, loc)
    key = loc[-1] if loc else None
    if isinstance(parent, dict) and key in parent:
        parent[key] = value
        return True
    if isinstance(parent, list) and isinstance(key, int):
        parent[key] = value
        return True
    return False
