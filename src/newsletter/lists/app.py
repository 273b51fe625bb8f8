"""The list server's routes on Starlette (the one module importing it): read the request, ask the service, answer.

Pages set no cookies and never redirect (RFC 8058 wants the one-click POST answered where it
lands), and tell browsers not to keep them, send no referrer (the URLs carry tokens) and load
nothing from elsewhere. Bodies are read up to a limit and refused past it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from .pages import Page
from .service import MAX_API_BYTES, MAX_FORM_BYTES, Answer, ListService, form_fields

_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
}


async def _body(request: Request, limit: int) -> bytes | None:
    """The request body, or None when it is larger than *limit* bytes (read no further than that)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _html(page: Page) -> HTMLResponse:
    return HTMLResponse(page.html, status_code=page.status, headers=_HEADERS)


def _json(answer: Answer) -> Response:
    return Response(json.dumps(answer.body), status_code=answer.status, media_type="application/json",
                    headers={"Cache-Control": "no-store"})


def _is_form(request: Request) -> bool:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return kind in ("application/x-www-form-urlencoded", "multipart/form-data")


def build_app(service: ListService) -> Starlette:
    """The ASGI application serving *service*."""

    async def form(request: Request, handle: Callable[[dict[str, str] | None], Page]) -> Response:
        if not _is_form(request):
            return _html(service.refuse(415, service.pages.gettext("Please send the form from the newsletter's page.")))
        body = await _body(request, MAX_FORM_BYTES)
        if body is None:
            return _html(service.refuse(413, service.pages.gettext("The form sent more than a form holds.")))
        return _html(handle(form_fields(request.headers.get("content-type", ""), body)))

    async def subscribe(request: Request) -> Response:
        ip = request.client.host if request.client else ""
        return await form(request, lambda fields: service.subscribe(fields, ip))

    async def confirm(request: Request) -> Response:
        return _html(service.confirm(request.path_params["token"]))

    async def unsubscribe(request: Request) -> Response:
        token = request.path_params["token"]
        if request.method == "GET":
            return _html(service.unsubscribe_page(token))
        return await form(request, lambda fields: service.unsubscribe(token, fields))

    def guarded(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        async def check(request: Request) -> Response:
            if not service.authorized(request.headers.get("authorization", "")):
                return _json(Answer(401, {"error": "missing or wrong bearer token"}))
            return await handler(request)
        return check

    async def subscribers(request: Request) -> Response:
        return StreamingResponse(service.subscribers_csv(), media_type="text/csv; charset=utf-8",
                                 headers={"Cache-Control": "no-store"})

    async def suppressions(request: Request) -> Response:
        body = await _body(request, MAX_API_BYTES)
        if body is None:
            return _json(Answer(413, {"error": f"at most {MAX_API_BYTES} bytes at a time"}))
        return _json(service.suppress(body))

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok", headers={"Cache-Control": "no-store"})

    routes = [
        Route("/subscribe", subscribe, methods=["POST"]),
        Route("/confirm/{token}", confirm, methods=["GET"]),
        Route("/unsubscribe/{token}", unsubscribe, methods=["GET", "POST"]),
        Route("/api/subscribers", guarded(subscribers), methods=["GET"]),
        Route("/api/suppressions", guarded(suppressions), methods=["POST"]),
        Route("/health", health, methods=["GET"]),
    ]
    return Starlette(routes=routes)
