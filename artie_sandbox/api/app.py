"""The sandbox API app: Artie's public REST paths over the backend, behind bearer-key auth.

Handlers are thin: parse with `wire`, call one `Backend` operation, render with `wire`. They are
plain `def`s, so FastAPI runs them in its thread pool and a slow store lock never stalls the
event loop; the store serialises writers across threads and processes.
"""

from __future__ import annotations

import hmac
import json
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from artie_sandbox.api import extensions, spec, wire
from artie_sandbox.backend import Backend
from artie_sandbox.errors import BadRequest, SandboxError
from artie_sandbox.paths import api_key_path, store_path
from artie_sandbox.store import Store


def error(status: int, message: str) -> JSONResponse:
    """An error in Artie's shape: `{"error": "..."}`."""
    return JSONResponse({"error": message}, status_code=status)


def _validation(message: str | None) -> Response:
    # Artie's validate endpoints answer 204 when valid and 200 with the reason when not.
    return Response(status_code=204) if message is None else JSONResponse({"error": message})


async def optional_json_body(request: Request) -> dict:
    """The JSON object in the body, whatever the Content-Type (Artie's Go client sends none)."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as e:
        raise BadRequest(f"the request body is not valid JSON: {e}") from e
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    return body


async def json_body(request: Request) -> dict:
    body = await optional_json_body(request)
    if not body:
        raise BadRequest("the request body must be a non-empty JSON object")
    return body


def typed(shape: spec.Shape, optional: bool = False):
    """A body dependency: the JSON object, checked against the spec's types and formats."""

    async def decode(request: Request) -> dict:
        body = await (optional_json_body if optional else json_body)(request)
        spec.check(shape, body, "the request body")
        return body

    return decode


def _route(request: Request) -> str:
    route = request.scope.get("route")
    return getattr(route, "path", request.url.path)


def _install_not_served(app: FastAPI) -> None:
    """Operations of Artie's API the sandbox does not implement answer 501, saying so (before
    routing, so `POST /connectors/ping` is not taken for an update of connector "ping")."""

    @app.middleware("http")
    async def refuse_not_served(request: Request, call_next):
        operation = spec.not_served(request.method, request.url.path)
        if operation is not None:
            return error(
                501,
                (
                    f"{operation} is part of Artie's API but not of the sandbox, which implements only "
                    "the connectors, source-readers and pipelines operations the Terraform provider "
                    "uses; rehearse this call against Artie itself"
                ),
            )
        return await call_next(request)


def _install_auth(app: FastAPI, api_key: str, state_dir: Path) -> None:
    expected = f"Bearer {api_key}".encode()
    hint = (
        "use the API key that `artie-sandbox init` printed (stored in "
        f"{api_key_path(state_dir)}): set it as the provider's api_key or in ARTIE_API_KEY"
    )

    @app.middleware("http")
    async def require_bearer_key(request: Request, call_next):
        header = request.headers.get("authorization")
        if not header:
            return error(401, f'missing API key: send "Authorization: Bearer <key>"; {hint}')
        if not hmac.compare_digest(header.encode(), expected):
            return error(401, f"invalid API key; {hint}")
        return await call_next(request)


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(SandboxError)
    async def sandbox_error(request: Request, exc: SandboxError):
        return error(spec.status_for(request.method, _route(request), exc.status), exc.message)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()
        )
        return error(
            spec.status_for(request.method, _route(request), 400), f"invalid request: {problems}"
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        where = f"{request.method} {request.url.path}"
        if exc.status_code in (404, 405):
            return error(
                exc.status_code,
                (
                    f"{where} is not an operation of Artie's API (the sandbox serves the connectors, "
                    "source-readers and pipelines operations the Terraform provider uses)"
                ),
            )
        return error(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def internal_error(_request: Request, exc: Exception):
        # Still logged with its traceback by the server; the client gets Artie's error shape.
        return error(
            500,
            f"internal error in the sandbox API ({type(exc).__name__}); see the sandbox API log",
        )


def _write_routes(app: FastAPI, prefix: str, shapes, parse, render, create, update, delete) -> None:
    """POST `prefix` (create), POST `prefix/{uuid}` (update), DELETE `prefix/{uuid}`."""
    create_shape, update_shape = shapes

    def create_route(body: dict = Depends(typed(create_shape))):  # noqa: B008 - FastAPI's idiom
        return render(create(parse(body)))

    def update_route(uuid: str, body: dict = Depends(typed(update_shape))):  # noqa: B008
        return render(update(uuid, parse(body)))

    def delete_route(uuid: str):
        delete(uuid)
        return Response(status_code=204)

    app.post(prefix)(create_route)
    app.post(prefix + "/{uuid}")(update_route)
    app.delete(prefix + "/{uuid}", status_code=204)(delete_route)


def _connector_routes(app: FastAPI, backend: Backend) -> None:
    @app.get("/connectors")
    def list_connectors(includeSourceConnectors: bool = False):  # noqa: N803 - Artie's name
        connectors = backend.list_connectors(includeSourceConnectors)
        return {"items": [wire.light_connector(c) for c in connectors]}

    @app.get("/connectors/{uuid}")
    def get_connector(uuid: str):
        return wire.full_connector(backend.get_connector(uuid))

    _write_routes(
        app,
        "/connectors",
        (spec.CONNECTOR, spec.CONNECTOR),
        wire.parse_connector,
        wire.full_connector,
        backend.create_connector,
        backend.update_connector,
        backend.delete_connector,
    )


def _reader_routes(app: FastAPI, backend: Backend) -> None:
    @app.get("/source-readers")
    def list_readers():
        return [wire.reader_json(r) for r in backend.list_readers()]

    @app.post("/source-readers/validate-unsaved")
    def validate_reader(body: dict = Depends(typed(spec.READER_VALIDATE))):  # noqa: B008
        return _validation(backend.validate_reader(wire.parse_reader_validation(body)))

    @app.get("/source-readers/{uuid}")
    def get_reader(uuid: str):
        return wire.reader_json(backend.get_reader(uuid))

    _write_routes(
        app,
        "/source-readers",
        (spec.READER_CREATE, spec.SOURCE_READER),
        wire.parse_reader,
        wire.reader_json,
        backend.create_reader,
        backend.update_reader,
        backend.delete_reader,
    )

    @app.post("/source-readers/{uuid}/deploy", status_code=204)
    def deploy_reader(uuid: str):
        backend.deploy_reader(uuid)
        return Response(status_code=204)

    @app.post("/source-readers/{uuid}/status")
    def set_reader_status(uuid: str, body: dict = Depends(typed(spec.READER_STATUS))):  # noqa: B008
        status = wire.parse_status(body, "source reader")
        return wire.reader_json(backend.set_reader_status(uuid, status))


def _pipeline_routes(app: FastAPI, backend: Backend) -> None:
    @app.get("/pipelines")
    def list_pipelines():
        return {"items": [wire.light_pipeline(p) for p in backend.list_pipelines()]}

    # Artie's current provider calls validate-unsaved-*; older releases call validate-*.
    @app.post("/pipelines/validate-unsaved-source")
    @app.post("/pipelines/validate-source")
    def validate_source(body: dict = Depends(typed(spec.VALIDATE_SOURCE))):  # noqa: B008
        reader_uuid, tables = wire.parse_source_validation(body)
        return _validation(backend.validate_source(reader_uuid, tables))

    @app.post("/pipelines/validate-unsaved-destination")
    @app.post("/pipelines/validate-destination")
    def validate_destination(body: dict = Depends(typed(spec.VALIDATE_DESTINATION))):  # noqa: B008
        destination_uuid, database = wire.parse_destination_validation(body)
        return _validation(backend.validate_destination(destination_uuid, database))

    @app.get("/pipelines/{uuid}")
    def get_pipeline(uuid: str, includeRelatedObjects: bool = False):  # noqa: N803
        view = backend.get_pipeline(uuid)
        if not includeRelatedObjects:
            return wire.full_pipeline(view)
        reader = backend.get_reader(view.pipeline.source_reader_uuid)
        source = backend.get_connector(reader.reader.connector_uuid)
        destination = backend.get_connector(view.pipeline.destination_uuid)
        return wire.pipeline_detail(view, reader, source, destination)

    _write_routes(
        app,
        "/pipelines",
        (spec.PIPELINE_SAVE, spec.PIPELINE_SAVE),
        wire.parse_pipeline,
        wire.full_pipeline,
        backend.create_pipeline,
        backend.update_pipeline,
        backend.delete_pipeline,
    )

    @app.post("/pipelines/{uuid}/start", status_code=204)
    def start_pipeline(uuid: str, body: dict = Depends(typed(spec.PIPELINE_START, optional=True))):  # noqa: B008
        backend.start_pipeline(uuid, keep_paused=wire.parse_keep_paused(body))
        return Response(status_code=204)

    @app.post("/pipelines/{uuid}/status")
    def set_pipeline_status(uuid: str, body: dict = Depends(typed(spec.PIPELINE_STATUS))):  # noqa: B008
        view = backend.set_pipeline_status(uuid, wire.parse_status(body, "pipeline"))
        return {"pipeline": wire.full_pipeline(view)}


def create_app(state_dir: str | Path, api_key: str) -> FastAPI:
    """The API over `<state_dir>/control-plane.db`, answering only requests bearing `api_key`."""
    if not api_key:
        raise ValueError("the sandbox API needs a non-empty API key")
    state_dir = Path(state_dir)
    store = Store(store_path(state_dir))
    backend = Backend(store)
    app = FastAPI(
        title="Artie sandbox API",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        redirect_slashes=False,
    )
    app.state.state_dir = state_dir
    app.state.store = store
    app.state.backend = backend
    _install_errors(app)
    _install_not_served(app)
    _install_auth(app, api_key, state_dir)
    _connector_routes(app, backend)
    _reader_routes(app, backend)
    _pipeline_routes(app, backend)
    extensions.install(app)
    return app
