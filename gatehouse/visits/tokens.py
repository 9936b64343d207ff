"""The visitor's link (SPEC §15): `/visit/{token}`, unguessable without the installation's key. The
token is the work order id and a keyed MAC of it (HMAC-SHA256 under a key derived from the server
key): nothing to store, the same link in every mail of the visit, and it stops working the moment
the visit does (checked at every use: cancelled, denied, terminated, or past its badge end date)."""

from __future__ import annotations

import base64
import hashlib
import hmac

from gatehouse.facility_access.repository import WORK_ORDER_ID

_PURPOSE = b"gatehouse visitor page v1"


def _subkey(server_key: bytes) -> bytes:
    return hmac.new(server_key, _PURPOSE, hashlib.sha256).digest()


def token_for(server_key: bytes, work_order_id: str) -> str:
    mac = hmac.new(_subkey(server_key), work_order_id.encode(), hashlib.sha256).digest()[:18]
    return f"{work_order_id}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"


def work_order_of(server_key: bytes, token: str) -> str | None:
    """The work order a token names, or None for anything else (constant-time compare)."""
    wo, _, _mac = token.partition(".")
    if not WORK_ORDER_ID.match(wo) or len(token) > 64:
        return None
    return wo if hmac.compare_digest(token_for(server_key, wo), token) else None
