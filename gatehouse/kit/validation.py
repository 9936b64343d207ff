"""Turning pydantic and JSON errors into field-named `details`, and reading JSON bodies."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from fastapi import Request
from pydantic import TypeAdapter, ValidationError

from gatehouse.kit.errors import BadRequest, ErrorDetail, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from gatehouse.kit.tolerant import (  # noqa: F401 - the tolerant reader's names, where callers found them
    IGNORED_HEADER,
    STRICT_HEADER,
    _drop,
    _finite,
    _not_json,
    _set,
    ignored,
    ignored_header,
    is_strict,
    one_object_path,
    rename_fields,
    unknown_parameters,
)

T = TypeVar("T")

# pydantic error type -> (our code, predicate). The predicate completes "Payload '<field>' ...".
_RULES: dict[str, tuple[str, str]] = {
    "missing": ("MISSING_FIELD", "is mandatory"),
    "extra_forbidden": ("UNKNOWN_FIELD", "is not a recognised field"),
    "string_type": ("INVALID_TYPE", "must be a string"),
    "bool_type": ("INVALID_TYPE", "must be a boolean (true or false)"),
    "int_type": ("INVALID_TYPE", "must be an integer"),
    "int_parsing": ("INVALID_TYPE", "must be an integer"),
    "int_from_float": ("INVALID_TYPE", "must be an integer"),
    "float_type": ("INVALID_TYPE", "must be a number"),
    "list_type": ("INVALID_TYPE", "must be an array"),
    "dict_type": ("INVALID_TYPE", "must be an object"),
    "model_type": ("INVALID_TYPE", "must be an object"),
    "model_attributes_type": ("INVALID_TYPE", "must be an object"),
    "string_too_long": ("MAX_LENGTH_EXCEEDED", "must be at most {max_length} characters long"),
    "string_too_short": ("MIN_LENGTH", "must be at least {min_length} characters long"),
    "too_long": ("TOO_MANY_ITEMS", "must have at most {max_length} items"),
    "too_short": ("TOO_FEW_ITEMS", "must have at least {min_length} items"),
    "string_pattern_mismatch": ("INVALID_FORMAT", "has an invalid format"),
    "literal_error": ("INVALID_VALUE", "must be one of: {expected}"),
    "enum": ("INVALID_VALUE", "must be one of: {expected}"),
    "greater_than_equal": ("OUT_OF_RANGE", "must be greater than or equal to {ge}"),
    "less_than_equal": ("OUT_OF_RANGE", "must be less than or equal to {le}"),
    "greater_than": ("OUT_OF_RANGE", "must be greater than {gt}"),
    "less_than": ("OUT_OF_RANGE", "must be less than {lt}"),
    "date_from_datetime_parsing": ("INVALID_DATE", "must be a date in the format yyyy-MM-dd"),
    "date_parsing": ("INVALID_DATE", "must be a date in the format yyyy-MM-dd"),
    "date_type": ("INVALID_DATE", "must be a date in the format yyyy-MM-dd"),
    "value_error": ("INVALID_VALUE", "is not valid"),
    "none_required": ("INVALID_VALUE", "must be null"),
}

# Field-specific codes the real API uses.
_MISSING_CODES = {"visitorFirstName": "MISSING_FIRST_NAME"}
# The real API's own names in "Mandatory payload '<name>' is null or empty." where they were seen.
_REAL_NAMES = {"visitorFirstName": "firstName"}
_TYPE_ERRORS = {"string_type", "bool_type", "int_type", "float_type", "list_type", "dict_type", "model_type",
                "model_attributes_type", "date_type"}


def _null_or_empty(err: Mapping[str, Any]) -> bool:
    """Missing, null where a value is required, or "" where at least one character is: one rule,
    the real API's "is null or empty" (SPEC §1)."""
    kind = err["type"]
    return (kind == "missing"
            or (kind in _TYPE_ERRORS and err.get("input", 0) is None)
            or (kind == "string_too_short" and err.get("input") == ""))


def field_path(loc: Iterable[Any]) -> str:
    """('0', 'visitors', 0, 'visitorEmail') -> '[0].visitors[0].visitorEmail'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and not ("[" in part or "(" in part):
            out += f".{part}" if out else part
        # other parts are pydantic internals (union tags, validator names): not user-visible
    return out


def detail_from_error(err: Mapping[str, Any], noun: str = "Payload", loc: Sequence[Any] | None = None) -> ErrorDetail:
    path = field_path(err["loc"] if loc is None else loc)
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if noun == "Payload" and path and _null_or_empty(err):
        last = re.sub(r"\[\d+\]$", "", path.rsplit(".", 1)[-1])
        return ErrorDetail(field=path, code=_MISSING_CODES.get(last, "MISSING_FIELD"),
                           message=f"Mandatory payload '{_REAL_NAMES.get(last, last)}' is null or empty.")
    if noun == "Payload" and path.endswith("site") and path.rsplit(".", 1)[-1] == "site" and kind in (
            "string_too_short", "string_too_long"):
        return ErrorDetail(field=path, code="INCORRECT_SITE_SIZE",  # the real API's words, as it wrote them
                           message="Payload attribute site contain incorrect size")
    if kind in _RULES:
        code, predicate = _RULES[kind]
        try:
            predicate = predicate.format(**ctx)
        except (KeyError, IndexError):
            pass
        # "at least 1 characters" -> "at least 1 character"
        predicate = re.sub(r"\b1 (character|item)s\b", r"1 \1", predicate)
        if kind == "value_error" and ctx.get("error"):
            predicate = str(ctx["error"]).rstrip(".")
        if kind == "missing":
            last = path.rsplit(".", 1)[-1]
            code = _MISSING_CODES.get(last, code)
    else:
        # Custom rules raise PydanticCustomError(CODE, "predicate"): the type is our code.
        code = kind if kind.isupper() else "INVALID_VALUE"
        predicate = err.get("msg", "is not valid").rstrip(".")
    subject = f"{noun} '{path}'" if path else noun
    return ErrorDetail(field=path, code=code, message=f"{subject} {predicate}.")


def details_from_validation_error(exc: ValidationError, noun: str = "Payload") -> list[ErrorDetail]:
    return [detail_from_error(e) for e in exc.errors(include_url=False)[: ValidationFailed.MAX_DETAILS]]


def details_from_request_errors(errors: Sequence[dict[str, Any]]) -> list[ErrorDetail]:
    """FastAPI's parameter errors: loc starts with 'query' / 'header' / 'path' / 'body'."""
    out = []
    for err in errors:
        where, *rest = err["loc"] or ("body",)
        noun = {"query": "Query parameter", "header": "Header", "path": "Path parameter",
                "cookie": "Cookie"}.get(where, "Payload")
        if noun != "Payload" and err["type"] == "missing":
            out.append(ErrorDetail(field=field_path(rest), code="MISSING_FIELD",
                                   message=f"Mandatory {noun[0].lower()}{noun[1:]} '{field_path(rest)}' is null or empty."))
            continue
        out.append(detail_from_error(err, noun=noun, loc=rest))
    return out


def describe_char(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X} {name}".strip()


def malformed_json(raw: bytes) -> BadRequest:
    """A plain-words description of where and why a body is not JSON."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return BadRequest(
            f"Request body is not valid UTF-8: byte 0x{raw[exc.start]:02X} at offset {exc.start}.",
            code="MALFORMED_JSON",
        )
    try:
        json.loads(text)
    except RecursionError:
        return BadRequest("Request body is nested too deeply.", code="MALFORMED_JSON")
    except json.JSONDecodeError as exc:
        return _decode_error(text, exc)
    except ValueError:  # Python refuses integers of more than 4,300 digits
        return BadRequest(f"A number in the request body has more than {MAX_DIGITS} digits.", code="MALFORMED_JSON")
    surrogate = _LONE_SURROGATE.search(text)
    if surrogate is not None:  # json.loads accepts these; no JSON text can carry them as characters
        line = text.count("\n", 0, surrogate.start()) + 1
        col = surrogate.start() - (text.rfind("\n", 0, surrogate.start()) + 1) + 1
        return BadRequest(f"Malformed JSON at line {line}, column {col}: the escape {surrogate.group(0)} is a lone "
                          "UTF-16 surrogate, not a character.", code="MALFORMED_JSON")
    return BadRequest("Request body is not valid JSON.", code="MALFORMED_JSON")


MAX_DIGITS = 4300
MAX_MEMBERS = 10_000  # object members in one body; far beyond any real request
_LONE_SURROGATE = re.compile(r"(?<!\\)(?:\\\\)*\\u[dD][89aAbB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
                             r"|(?<!\\u[dD][89aAbB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def _count_members(raw: bytes) -> None:
    """A bound on the work a big body can cause before it is refused: validation time and error
    count grow with the number of object members, so count them (C parser, no model) first."""
    members = 0

    def hook(pairs: list) -> dict:
        nonlocal members
        members += len(pairs)
        if members > MAX_MEMBERS:
            raise _TooMany
        return {}

    try:
        json.loads(raw, object_pairs_hook=hook)
    except _TooMany:
        raise BadRequest(f"The request body has more than {MAX_MEMBERS} object members.",
                         code="TOO_MANY_MEMBERS") from None
    except (ValueError, RecursionError):
        return  # malformed: the validator reports it, with its position


class _TooMany(Exception):
    pass


def _decode_error(text: str, exc: json.JSONDecodeError) -> BadRequest:
    if True:
        if exc.pos >= len(text):
            what = "unexpected end of input"
        else:
            ch = text[exc.pos]
            what = f"unexpected character {describe_char(ch)}"
            if ch.isspace() and ch not in " \t\r\n":
                what += " (JSON allows only space, tab, line feed and carriage return as whitespace)"
        return BadRequest(
            f"Malformed JSON at line {exc.lineno}, column {exc.colno}: {what} ({exc.msg}).",
            code="MALFORMED_JSON",
        )


async def read_body_capped(request: Request, max_bytes: int) -> bytes:
    """Read the whole body, refusing (413) as soon as it passes max_bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > max_bytes:
                raise PayloadTooLarge(f"The request body exceeds the limit of {max_bytes} bytes.")
        except ValueError:
            raise BadRequest("Header 'Content-Length' is not a number.", code="INVALID_HEADER") from None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(f"The request body exceeds the limit of {max_bytes} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


def _check_json_content_type(request: Request) -> None:
    ctype = request.headers.get("content-type")
    if ctype is None:
        return  # lenient: curl -d without -H still means JSON here
    media = ctype.split(";", 1)[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise UnsupportedMediaType(
            f"Content-Type '{media}' is not supported; send application/json.", code="UNSUPPORTED_MEDIA_TYPE"
        )


class JsonBody(Generic[T]):
    """A dependency that reads and strictly validates a JSON body.

    Why not FastAPI's own body parsing: SPEC needs a size cap before parsing, strict types,
    and a malformed-JSON message that names line, column and the offending character.
    """

    def __init__(self, tp: type[T], *, name: str, max_bytes: int | None = None, required: bool = True,
                 object_or_list: bool = False) -> None:
        self.adapter: TypeAdapter[T] = TypeAdapter(tp)
        self.name = name
        self.max_bytes = max_bytes
        self.required = required
        # `tp` is a list, and one object is taken as a list of one (SPEC §13's PoP/POE create):
        # its problems are then named without the "[0]" the wrapping added
        self.object_or_list = object_or_list
        from gatehouse.kit.openapi import register_body_schema

        self.openapi_extra = register_body_schema(name, self.adapter, required=required)

    async def __call__(self, request: Request) -> T:
        if not self.object_or_list:
            return await self._read(request)
        request.state.one_object = False
        try:
            return await self._read(request)
        except ValidationFailed as exc:
            if getattr(request.state, "one_object", False):
                rename_fields(exc, one_object_path)
            raise

    async def _read(self, request: Request) -> T:
        _check_json_content_type(request)
        limit = self.max_bytes or request.app.state.settings.max_json_bytes
        raw = await read_body_capped(request, limit)
        if not raw.strip():
            if not self.required:
                raw = b"{}"
            else:
                raise BadRequest("Request body is missing; a JSON body is required.", code="MISSING_BODY")
        if self.object_or_list and raw.lstrip()[:1] == b"{":
            raw = b"[" + raw + b"]"
            request.state.one_object = True
        request.state.json_raw = raw  # kept for what the endpoint may still check on an invalid body
        if len(raw) > 64 * 1024:
            _count_members(raw)
        _refuse_nul(raw)  # before anything reads the body, even the rules that check an invalid one
        try:
            return self.adapter.validate_json(raw, strict=True)
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
            if any(e["type"] in ("json_invalid", "recursion_loop") for e in errors):
                raise malformed_json(raw) from None
            if not is_strict(request):
                return self._tolerantly(request, raw, exc)
            raise ValidationFailed(details_from_validation_error(exc), total=exc.error_count()) from None
        except RecursionError:
            raise BadRequest("Request body is nested too deeply.", code="MALFORMED_JSON") from None

    def _tolerantly(self, request: Request, raw: bytes, exc: ValidationError) -> T:
        """The real API's reading (SPEC §1): unknown fields are dropped and named in the response's
        Gatehouse-Ignored header, "true"/"false" strings are booleans; what is still wrong after
        that is refused as always."""
        try:  # NaN and Infinity are not JSON (RFC 8259), whatever Python's parser allows
            data = json.loads(raw, parse_constant=_not_json, parse_float=_finite)
        except ValueError:
            raise BadRequest("Request body is not valid JSON: NaN, Infinity and numbers beyond a 64-bit float "
                             "are not JSON numbers this API reads.", code="MALFORMED_JSON") from None
        for _round in range(3):  # a dropped field can reveal nothing new; three passes are plenty
            fixed = False
            for err in exc.errors(include_url=False):
                loc = err["loc"]
                if err["type"] == "extra_forbidden" and _drop(data, loc):
                    ignored(request, field_path(loc))
                    fixed = True
                elif err["type"] == "bool_type" and err.get("input") in ("true", "false"):
                    fixed = _set(data, loc, err["input"] == "true") or fixed
            if not fixed:
                break
            # what an invalid body's rule checks read (partial.py): the body as it is understood
            request.state.json_raw = json.dumps(data).encode()
            try:
                return self.adapter.validate_python(data, strict=True)
            except ValidationError as again:
                exc = again
        raise ValidationFailed(details_from_validation_error(exc), total=exc.error_count()) from None


_declared_query: dict[int, frozenset[str]] = {}


def _query_names(dependant) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def _nul_paths(value: Any, path: str = "") -> list[str]:
    if isinstance(value, str):
        return [path] if "\x00" in value else []
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _nul_paths(v, f"{path}[{i}]")]
    if isinstance(value, dict):
        out = []
        for k, v in value.items():
            sub = f"{path}.{k}" if path else str(k)
            out += [sub] if "\x00" in str(k) else _nul_paths(v, sub)
        return out
    return []


def _refuse_nul(raw: bytes) -> None:
    """NUL can never be stored (PostgreSQL text refuses it) and is never meaningful here."""
    if b"\\u0000" not in raw.lower():
        return
    try:
        paths = _nul_paths(json.loads(raw))
    except (ValueError, RecursionError):  # incl. integers past 4,300 digits
        return
    if paths:
        raise ValidationFailed([ErrorDetail(field=p, code="INVALID_CHARACTER",
                                            message=f"Payload '{p}' must not contain the NUL character (U+0000).")
                                for p in paths])


async def reject_unknown_query(request: Request) -> None:
    """Unknown query parameters are ignored and named in Gatehouse-Ignored, as the real API ignores
    them (so `?stauts=Approved` stays visible); with `Gatehouse-Strict: true` they are refused.
    Computed once per route. Also refuses NUL characters in path and query values, before anything
    reaches a query."""
    for where, params in (("Path parameter", request.path_params), ("Query parameter", request.query_params)):
        for key, value in params.items():
            if isinstance(value, str) and "\x00" in value:
                raise ValidationFailed([ErrorDetail(field=key, code="INVALID_CHARACTER",
                                                    message=f"{where} '{key}' must not contain the NUL character.")])
    if not request.query_params:
        return
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    allowed = _declared_query.get(id(route))
    if allowed is None:
        allowed = frozenset(_query_names(dependant))
        _declared_query[id(route)] = allowed
    unknown = [k for k in request.query_params.keys() if k not in allowed]
    if unknown and not is_strict(request):  # as the real API: ignored, and named in Gatehouse-Ignored
        for k in dict.fromkeys(unknown):
            ignored(request, k[:60])
        state = request.scope.setdefault("state", {})  # refused after all if the app is strict
        state["unknown_query"], state["allowed_query"] = unknown, allowed
        return
    if unknown:
        raise unknown_parameters(unknown, allowed)
