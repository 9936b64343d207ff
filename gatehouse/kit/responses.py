"""A JSON response serialised once, with orjson (the hot paths build their dicts themselves)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class JsonBytes(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
