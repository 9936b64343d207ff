"""The visitor's photo at the desk (SPEC §14): the tablet's camera (the page's script) or a file; the
image is served to the desk only, never cached."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from gatehouse.console import web
from gatehouse.console.web import OperatorDep, check_csrf, db_of, op_of, page
from gatehouse.kit.errors import GatehouseError
from gatehouse.operators import photos

router = web.router()


@router.post("/desk/tickets/{ticket_id}/photo")
async def take_photo(request: Request, person: OperatorDep, ticket_id: str) -> Response:
    from starlette.datastructures import UploadFile
    from starlette.exceptions import HTTPException as StarletteHTTPException

    fetch = request.headers.get("x-requested-with") == "fetch"
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > photos.MAX_BYTES + 64 * 1024:
        return _answer(request, person, ticket_id, fetch, "The photo is larger than 2 MiB.", 413)
    try:
        async with request.form(max_files=1, max_fields=5) as form:
            token = form.get("csrf")
            check_csrf(person, token if isinstance(token, str) else None)
            upload = form.get("photo")
            data = await upload.read(photos.MAX_BYTES + 1) if isinstance(upload, UploadFile) else b""
    except StarletteHTTPException:
        return _answer(request, person, ticket_id, fetch, "This is not the photo form: reload the page.", 400)
    try:
        await photos.save_photo(db_of(request), op_of(person), ticket_id[:20], data)
    except GatehouseError as exc:
        if exc.status_code == 404:
            return page(request, "error.html", status=404, person=person, message="No such ticket at your sites.")
        return _answer(request, person, ticket_id, fetch, exc.message, exc.status_code)
    if fetch:
        return JSONResponse({"ok": True})
    return RedirectResponse(f"/console/desk/tickets/{ticket_id[:20]}", status_code=303)


def _answer(request: Request, person, ticket_id: str, fetch: bool, message: str, status: int) -> Response:
    if fetch:
        return JSONResponse({"error": message}, status_code=status)
    return page(request, "error.html", status=status, person=person, message=message)


@router.get("/desk/tickets/{ticket_id}/photo")
async def photo(request: Request, person: OperatorDep, ticket_id: str) -> Response:
    try:
        found = await photos.photo_of(db_of(request), op_of(person), ticket_id[:20])
    except GatehouseError:
        found = None
    if found is None:
        return Response(status_code=404)
    return Response(found.data, media_type=found.content_type,
                    headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})
