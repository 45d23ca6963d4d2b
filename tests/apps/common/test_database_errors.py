"""Database connection errors are answered 503 with Retry-After, never 500 (the fault test with a real
server and a cut connection is tests/platform/test_database_outage.py)."""
import json
import sys

from django.db import OperationalError

from apps.common.database_errors import (
    DATABASE_UNAVAILABLE,
    RETRY_AFTER_SECONDS,
    DatabaseUnavailableMiddleware,
    server_error,
)


def test_database_errors_map_to_503_without_a_server(rf):
    """A view raising OperationalError is a 503 JSON under /api/ and a 503 page elsewhere (middleware and handler500)."""
    middleware = DatabaseUnavailableMiddleware(lambda request: None)
    api = middleware.process_exception(rf.get("/api/v1/projects/"), OperationalError("connection refused"))
    assert api.status_code == 503 and api["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert json.loads(api.content) == {"detail": str(DATABASE_UNAVAILABLE)}
    assert middleware.process_exception(rf.get("/"), ValueError("a bug")) is None  # a bug stays a 500
    try:
        raise OperationalError("server closed the connection unexpectedly")
    except OperationalError:
        assert sys.exc_info()[0] is OperationalError
        page = server_error(rf.get("/projects/x/"))
    assert page.status_code == 503 and b"<html" in page.content
