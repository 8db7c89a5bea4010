"""The sandbox's errors: requests the real service would refuse, and lifecycle steps that failed."""

from __future__ import annotations


class SandboxError(Exception):
    """A request the real service would refuse; `status` is the HTTP status it means.

    The API answers the status the reference spec lists for the operation (see
    `artie_sandbox.api.statuses`), so `status` is the intent, not always the code on the wire.
    """

    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BadRequest(SandboxError):
    """The request is malformed or breaks one of Artie's rules."""

    status = 400


class NotFound(SandboxError):
    """The request names an object (by uuid) that does not exist."""

    status = 404


class LifecycleError(Exception):
    """A lifecycle step (init, up, down) failed; the message says what to do next."""
