"""The terraform binary the tests run, looked up once and only when a test first needs it (never at
import, so collecting the tests runs nothing)."""

from __future__ import annotations

import functools

from migration_pipeline.terraform.binary import find_terraform


@functools.cache
def terraform() -> str:
    """Path of the terraform binary (`find_terraform()`, cached for the session)."""
    return find_terraform()
