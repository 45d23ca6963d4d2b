"""Errors raised by services; views turn them into 4xx responses with the message."""


class ApplicationError(Exception):
    """A refusal the user can understand and act on (shown as-is, translated)."""

    status_code = 400

    def __init__(self, message, *, extra=None):
        super().__init__(str(message))
        self.message = message
        self.extra = extra or {}


class PermissionDeniedError(ApplicationError):
    status_code = 403


class NotFoundError(ApplicationError):
    status_code = 404


class ConflictError(ApplicationError):
    status_code = 409
