"""The console's pages, one module per area. A new page is made by copying a sibling: a router from
`web.router()`, the person or the account context as a dependency, the domain's services, a template."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, PlainTextResponse, RedirectResponse, Response

from gatehouse.console import auth, web
from gatehouse.console.pages import (
    admin_customers,
    admin_operators,
    admin_sites,
    approvals,
    apps,
    audit,
    badges,
    bulk,
    desk,
    new_request,
    people,
    photos,
    requests,
    roll_call,
    session,
    site_rules,
    sso,
    totp_page,
    walk_in,
    watchlist,
    webhooks,
)

# Order matters where paths overlap: /requests/new before /requests/{ticket_id}, and the desk ticket's
# /photo before its /{action}.
PAGES = (session, sso, photos, desk, roll_call, walk_in, site_rules, watchlist, new_request, requests, approvals, badges, people, bulk, apps, webhooks, audit, totp_page,
         admin_customers, admin_sites, admin_operators)


def install(app: FastAPI) -> None:
    """Mount the console: its pages, its static files, and its redirects and refusals as pages."""
    for module in PAGES:
        app.include_router(module.router)

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:  # browsers ask for it at the root, on every page
        return FileResponse(web.HERE / "static" / "favicon.ico", media_type="image/x-icon",
                            headers={"Cache-Control": "public, max-age=86400"})

    app.mount("/console/static", web.static, name="console-static")

    async def on_redirect(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, web.Redirect)
        return RedirectResponse(exc.to, status_code=303)

    async def on_csrf(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("Forbidden: this form's security token is missing or wrong. Reload the page.",
                                 status_code=403)

    async def on_not_found(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, web.PageNotFound)
        person = await auth.person_for(web.db_of(request), request.cookies.get(web.COOKIE))
        return web.page(request, "error.html", status=exc.status, person=person, message=str(exc))

    app.add_exception_handler(web.Redirect, on_redirect)
    app.add_exception_handler(web.CsrfRefused, on_csrf)
    app.add_exception_handler(web.PageNotFound, on_not_found)
