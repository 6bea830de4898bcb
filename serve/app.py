"""The FastAPI app: routes, error bodies, auth, body-size limit and load shedding.

``build_app(service, scorer, settings, metrics)`` is used as-is by the plain uvicorn server and,
through ``__serve_build_asgi_app__``, by the Ray Serve replica; only ``scorer`` differs (an
asyncio batcher here, a ``@serve.batch`` method there). Every client mistake is a 4xx with
``{"detail": ..., "field": ...}``.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Awaitable, Callable

import numpy as np
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from serve.metrics import NullMetrics, PrometheusMetrics
from serve.schemas import (
    ErrorBody,
    HealthBody,
    ItemInfo,
    RecommendRequest,
    RecommendResponse,
)
from serve.service import Prepared, RecommendService, RequestError
from serve.settings import ServeSettings

Scorer = Callable[[Prepared], Awaitable[tuple[np.ndarray, np.ndarray]]]
ROUTES = ("/v1/recommend", "/v1/items/{id}", "/healthz", "/readyz", "/metrics")
_ERRORS = {
    code: {"model": ErrorBody, "description": text}
    for code, text in (
        (400, "malformed JSON"),
        (401, "missing or wrong bearer token"),
        (413, "body over the size limit"),
        (422, "a field has the wrong type or value; `field` names it"),
        (503, "overloaded; retry later"),
    )
}


def route_label(path: str) -> str:
    """Low-cardinality route name for metrics."""
    if path.startswith("/v1/items/"):
        return "/v1/items/{id}"
    return path if path in ROUTES else "other"


def _error(status: int, detail: str, field: str | None = None, headers=None) -> JSONResponse:
    return JSONResponse({"detail": detail, "field": field}, status_code=status, headers=headers)


def _send_json(send, status: int, body: dict, headers=()):
    data = json.dumps(body).encode()
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), *headers],
    }

    async def go():
        await send(start)
        await send({"type": "http.response.body", "body": data})

    return go()


class Guard:
    """Pure-ASGI outer layer: auth, 413 before parsing, 503 when too many requests are inside.

    It also times every request for the metrics. Bodies are read here (they are small, at most
    ``max_body_bytes``) and replayed to the app, so a chunked body cannot bypass the limit.
    """

    def __init__(self, app, settings: ServeSettings, metrics: NullMetrics):
        self.app = app
        self.settings = settings
        self.metrics = metrics
        self.inflight = 0
        self._token = f"Bearer {settings.token}".encode() if settings.token else None

    async def __call__(self, scope, receive, send):
        """ASGI entry: guards and times one request."""
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        route = route_label(scope["path"])
        status = [500]

        async def send_status(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        counted = route == "/v1/recommend"
        if counted:
            self.inflight += 1
        try:
            await self._handle(scope, receive, send_status, route)
        finally:
            if counted:
                self.inflight -= 1
            self.metrics.request(route, status[0], time.perf_counter() - start)

    async def _handle(self, scope, receive, send, route):
        if self._token and scope["path"].startswith("/v1/") and not self._authorised(scope):
            hdr = [(b"www-authenticate", b"Bearer")]
            msg = {"detail": "missing or wrong bearer token", "field": "Authorization"}
            return await _send_json(send, 401, msg, hdr)
        if route == "/v1/recommend" and self.inflight > self.settings.max_inflight:
            msg = {"detail": "overloaded: too many requests in flight", "field": None}
            return await _send_json(send, 503, msg, [(b"retry-after", b"1")])
        limit = self.settings.max_body_bytes
        declared = dict(scope.get("headers", ())).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            return await _send_json(send, 413, _too_large(limit))
        body, more, chunks = 0, True, []
        while more and scope["method"] in ("POST", "PUT", "PATCH"):
            message = await receive()
            if message["type"] != "http.request":
                return
            chunks.append(message.get("body", b""))
            body += len(chunks[-1])
            more = message.get("more_body", False)
            if body > limit:
                return await _send_json(send, 413, _too_large(limit))
        await self.app(scope, _replay(b"".join(chunks), receive), send)

    def _authorised(self, scope) -> bool:
        given = dict(scope.get("headers", ())).get(b"authorization", b"")
        return hmac.compare_digest(given, self._token)


def _too_large(limit: int) -> dict:
    return {"detail": f"request body over {limit} bytes", "field": "body"}


def _replay(body: bytes, receive):
    sent = [False]

    async def replay():
        if not sent[0]:
            sent[0] = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    err = exc.errors()[0] if exc.errors() else {}
    loc = [str(part) for part in err.get("loc", ()) if part != "body"]
    if err.get("type") == "json_invalid":
        return _error(400, f"malformed JSON: {err.get('msg', '')}", "body")
    field = ".".join(loc[:1]) + "".join(f"[{p}]" for p in loc[1:2]) if loc else "body"
    if loc[:1] == ["user"] and len(loc) > 1:  # a field of the nested user attributes
        field = f"user.{loc[1]}"
    return _error(422, f"{field}: {err.get('msg', 'invalid value')}", field)


def build_app(
    service: RecommendService,
    scorer: Scorer,
    settings: ServeSettings,
    metrics: NullMetrics | None = None,
) -> FastAPI:
    """The HTTP app around a loaded service; ``scorer`` runs one prepared request (batched)."""
    metrics = metrics or NullMetrics()
    metrics.model(service.model_version, service.backend_name or "unknown")
    app = FastAPI(
        title="jaxrec recommendations",
        version=service.model_version,
        description="Next-item recommendations from an exported jaxrec model.",
    )
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(RequestError, lambda _, e: _error(e.status, e.message, e.field))
    app.add_exception_handler(
        StarletteHTTPException, lambda _, e: _error(e.status_code, str(e.detail), None, e.headers)
    )

    @app.post("/v1/recommend", response_model=RecommendResponse, responses=_ERRORS)
    async def recommend(req: RecommendRequest) -> RecommendResponse:
        prepared = service.prepare(req)
        ids, scores = await scorer(prepared)
        return service.respond(prepared, ids, scores)

    @app.get("/v1/items/{id}", response_model=ItemInfo, responses={404: {"model": ErrorBody}})
    async def item(id: str) -> ItemInfo:
        return service.item(id)

    @app.get("/healthz", response_model=HealthBody)
    async def healthz() -> HealthBody:
        return HealthBody(status="ok")

    @app.get("/readyz", response_model=HealthBody, responses={503: {"model": ErrorBody}})
    async def readyz() -> HealthBody:
        return HealthBody(
            status="ready",
            model_version=service.model_version,
            backend=service.backend_name,
            cold_start=service.cold_start,
        )

    if isinstance(metrics, PrometheusMetrics):

        @app.get("/metrics", include_in_schema=False)
        async def prometheus() -> Response:
            return Response(metrics.exposition(), media_type="text/plain; version=0.0.4")

    app.add_middleware(Guard, settings=settings, metrics=metrics)
    return app
