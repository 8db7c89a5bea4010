"""Sandbox-only HTTP endpoints under /sandbox (engine progress, fault injection); not Artie's API.

`install(app)` is called once by the app factory; the replication engine's owner fills it in.
"""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Mount the /sandbox extension routes and middlewares on the API app."""
