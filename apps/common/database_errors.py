"""Answer 503 with Retry-After, not 500, while the database cannot be reached.

A lost connection is temporary and nothing was written (the transaction never committed), so the
client is told to try again: JSON under /api/, a plain page (no navigation, which would query the
database again) for everything else. The middleware covers exceptions raised by views (DRF re-raises
what its handler does not know); ``server_error``, the site's handler500, covers those raised in
other middleware (a session or user lookup), which Django has already turned into a 500.
"""
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _
from django.views.defaults import server_error as default_server_error

DATABASE_UNAVAILABLE = _("The server cannot reach its database right now. Nothing was saved: try again in a moment.")
RETRY_AFTER_SECONDS = 10  # a database restart or a connection blip is over in seconds


def is_database_unavailable(exception: BaseException | None) -> bool:
    """Return whether the exception means the database could not be reached (not a bad query)."""
    return isinstance(exception, (OperationalError, InterfaceError))


def database_unavailable_response(request) -> HttpResponse:
    """Return the 503 answer: JSON for the API, a standalone page otherwise."""
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": str(DATABASE_UNAVAILABLE)}, status=503)
    else:
        html = render_to_string("common/database_unavailable.html", {"message": DATABASE_UNAVAILABLE})
        response = HttpResponse(html, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    """Turn a database connection error escaping a view into a 503 with Retry-After."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_database_unavailable(exception):
            return None
        return database_unavailable_response(request)


def server_error(request, *args, **kwargs):
    """handler500: a 503 when the uncaught exception is a database connection error, else Django's page."""
    if is_database_unavailable(sys.exc_info()[1]):
        return database_unavailable_response(request)
    return default_server_error(request, *args, **kwargs)
