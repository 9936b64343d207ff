"""Bulk requests from a CSV file: upload, preview, the run in idempotent steps, the result file."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Query, Request
from fastapi.responses import Response

from gatehouse.console import web
from gatehouse.console.web import (
    PageNotFound,
    Portal,
    PortalDep,
    csrf_ok,
    db_of,
    go,
    need,
    show,
)
from gatehouse.facility_access import bulk
from gatehouse.kit.errors import GatehouseError, NotFound

router = web.router()


@router.get("/a/{account_id}/bulk")
async def bulk_page(request: Request, p: PortalDep, error: Annotated[str, Query(max_length=300)] = "") -> Response:
    need(p, "visitor-access:request")
    return show(request, p, "portal/bulk.html", columns=bulk.COLUMNS, required=bulk.REQUIRED, error=error,
                max_rows=bulk.MAX_ROWS)


@router.get("/a/{account_id}/bulk/template.csv")
async def bulk_template(p: PortalDep) -> Response:
    return Response(bulk.template_csv(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="access-requests-template.csv"'})


@router.post("/a/{account_id}/bulk")
async def bulk_upload(request: Request, p: PortalDep) -> Response:
    from starlette.datastructures import UploadFile
    from starlette.exceptions import HTTPException as StarletteHTTPException

    try:
        async with request.form(max_files=1, max_fields=10, max_part_size=bulk.MAX_BYTES + 1) as multi:
            token = multi.get("csrf")
            csrf_ok(p, token if isinstance(token, str) else None)
            need(p, "visitor-access:request")
            upload = multi.get("file")
            if not isinstance(upload, UploadFile) or not upload.filename:
                return go(f"{p.base}/bulk", error="Choose a CSV file to upload.")
            data = await upload.read(bulk.MAX_BYTES + 1)
            filename = upload.filename
    except StarletteHTTPException:  # the form's own limits (a part over 2 MiB, too many fields)
        return go(f"{p.base}/bulk", error=f"The file is larger than {bulk.MAX_BYTES // 1024 // 1024} MiB "
                  "or the form is not this page's.")
    try:
        rows = bulk.read_csv(data)
    except GatehouseError as exc:
        return go(f"{p.base}/bulk", error=exc.message)
    await bulk.check_rows(db_of(request), p.ctx, rows)
    import_id = await bulk.save(db_of(request), p.ctx, filename, rows)
    return go(f"{p.base}/bulk/{import_id}")


async def _import(request: Request, p: Portal, import_id: str):
    try:
        return await bulk.load(db_of(request), p.ctx, import_id)
    except NotFound:
        raise PageNotFound("No such import of yours.") from None


@router.get("/a/{account_id}/bulk/{import_id}")
async def bulk_preview(request: Request, p: PortalDep, import_id: str) -> Response:
    import json

    need(p, "visitor-access:request")
    imp = await _import(request, p, import_id)
    rows = json.loads(imp.rows_json)
    state = bulk.progress(imp)
    return show(request, p, "portal/bulk_preview.html", imp=imp, rows=rows, bad=[r for r in rows if r["problems"]],
                state=state, groups=len(json.loads(imp.groups_json)),
                good=[o for o in bulk.outcomes(imp) if o["ok"]])


@router.post("/a/{account_id}/bulk/{import_id}/run")
async def bulk_run(request: Request, p: PortalDep, import_id: str,
                   csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    """Without script: create every group, then show the result. With script (console.js), the page
    asks for a few groups at a time and shows the progress between steps."""
    csrf_ok(p, csrf)
    need(p, "visitor-access:request")
    step = request.headers.get("x-requested-with") == "fetch"
    try:
        state = await bulk.run(db_of(request), p.ctx, import_id, max_groups=3 if step else None)
    except NotFound:
        raise PageNotFound("No such import of yours.") from None
    if step:
        from fastapi.responses import JSONResponse

        return JSONResponse(state)
    return go(f"{p.base}/bulk/{import_id}")


@router.get("/a/{account_id}/bulk/{import_id}/result.csv")
async def bulk_result(request: Request, p: PortalDep, import_id: str) -> Response:
    imp = await _import(request, p, import_id)
    return Response(bulk.result_csv(imp), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="access-requests-result-{imp.id[:8]}.csv"'})
