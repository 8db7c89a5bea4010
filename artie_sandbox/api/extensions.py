"""Sandbox-only HTTP endpoints under /sandbox (engine progress, fault injection); not Artie's API.

- `GET /sandbox/progress`: per pipeline, rows backfilled of estimated, offset lag, seconds behind
  the source, per-table status, and the reader's counters (how often the source was read).
- `GET /sandbox/faults`, `POST /sandbox/faults` (`{"kind", "pipeline", "count", "seconds", ...}`),
  `DELETE /sandbox/faults?pipeline=&kind=`: the same faults as `artie-sandbox fault`.
- While an `api_errors` fault is in force (for `seconds`, or for its next `count` calls), every
  call outside /sandbox answers its status (503 by default) in Artie's error shape, with `Retry-After` when the fault sets `retry_after`
  seconds, so clients can rehearse retries and rate limits.
"""

from __future__ import annotations

import time
from dataclasses import asdict

from fastapi import Body, FastAPI, Request
from fastapi.responses import JSONResponse

from artie_sandbox.engine.fault_command import resolve_pipeline
from artie_sandbox.engine.faults import Faults
from artie_sandbox.models import Pipeline, PipelineProgress
from artie_sandbox.store import Store

_CACHE_SECONDS = 0.25


def progress_report(store: Store) -> dict:
    """Every pipeline's engine-reported progress, with the totals the demo shows."""
    tx = store.read()
    names = {p.uuid: p.name for p in tx.list(Pipeline)}
    items = []
    for progress in tx.list(PipelineProgress):
        if progress.pipeline_uuid not in names:
            continue
        body = asdict(progress)
        body["name"] = names[progress.pipeline_uuid]
        body["rows_backfilled"] = sum(t.rows_backfilled for t in progress.tables)
        body["rows_estimated"] = sum(t.rows_estimated for t in progress.tables)
        body["offset_lag"] = max(0, progress.log_end - progress.offset)
        items.append(body)
    return {"pipelines": items}


def install(app: FastAPI) -> None:
    """Mount the /sandbox extension routes and the API-errors fault middleware on the API app."""
    store: Store = app.state.store
    faults = Faults(store)
    cache = {"at": 0.0, "fault": None}

    def api_error_fault():
        if time.monotonic() - cache["at"] > _CACHE_SECONDS:
            active = faults.active("api_errors")
            cache.update(at=time.monotonic(), fault=active[0] if active else None)
        fault = cache["fault"]
        if fault is not None and fault.remaining is not None:  # counted: one call each
            cache["at"] = 0.0
            return fault if faults.take(fault) else None
        return fault

    @app.middleware("http")
    async def injected_api_errors(request: Request, call_next):
        fault = None if request.url.path.startswith("/sandbox") else api_error_fault()
        if fault is not None:
            status = int(fault.params.get("status", 503))
            retry_after = fault.params.get("retry_after")
            headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
            return JSONResponse(
                {
                    "error": f"injected fault: the sandbox API answers {status} "
                    "(clear it with `artie-sandbox fault clear`)"
                },
                status_code=status,
                headers=headers,
            )
        return await call_next(request)

    @app.get("/sandbox/progress")
    def get_progress() -> dict:
        return progress_report(store)

    @app.get("/sandbox/faults")
    def list_faults() -> dict:
        return {"faults": [f.to_json() for f in faults.active()]}

    @app.post("/sandbox/faults", status_code=201)
    def add_fault(body: dict = Body(...)):  # noqa: B008 - FastAPI's way to take a raw JSON body
        params = {
            k: v for k, v in body.items() if k not in ("kind", "pipeline", "count", "seconds")
        }
        try:
            fault = faults.add(
                str(body.get("kind", "")),
                resolve_pipeline(store, body.get("pipeline")),
                count=body.get("count"),
                seconds=body.get("seconds"),
                **params,
            )
        except (LookupError, ValueError) as e:
            return JSONResponse({"error": str(e)}, status_code=400)
        cache["at"] = 0.0
        return fault.to_json()

    @app.delete("/sandbox/faults")
    def clear_faults(pipeline: str | None = None, kind: str | None = None):
        try:
            removed = faults.clear(resolve_pipeline(store, pipeline) or None, kind)
        except LookupError as e:
            return JSONResponse({"error": str(e)}, status_code=400)
        cache["at"] = 0.0
        return {"removed": removed}
