"""The API docs pages, served whole by Gatehouse (no CDN): ReDoc's bundle names one image on a CDN
(the "API docs by Redocly" logo), which the docs' Content-Security-Policy refuses and the browser
reports as an error. The bundle is served with that address pointing at Gatehouse's own icon."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

CDN_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"


@lru_cache(maxsize=1)
def _redoc_bundle() -> bytes:
    import fastapi_offline

    path = Path(fastapi_offline.__file__).parent / "static" / "redoc.standalone.js"
    return path.read_bytes().replace(CDN_LOGO, b"/favicon.ico")


async def _serve(request: Request) -> Response:
    return Response(_redoc_bundle(), media_type="text/javascript", headers={"Cache-Control": "public, max-age=3600"})


def install(app, static_url: str = "/static-offline-docs") -> None:
    # ahead of the static mount that would otherwise answer this path with the original bundle
    app.router.routes.insert(0, Route(f"{static_url}/redoc.standalone.js", _serve, include_in_schema=False))
