"""Render ApplicationError raised by an HTML view as a page with its status and message.

The HTML counterpart of ``apps.common.api_errors``: views let services' refusals propagate
instead of catching them one by one.
"""
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from apps.common.exceptions import ApplicationError

TITLES = {
    400: _("This request cannot be answered"),
    403: _("You cannot open this page"),
    404: _("This page does not exist"),
    409: _("Not possible right now"),
}


class ApplicationErrorMiddleware:
    """Turn an ApplicationError escaping a view into a 4xx page that shows its message."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, ApplicationError):
            return None
        status = exception.status_code
        context = {"title": TITLES.get(status, TITLES[400]), "message": exception.message}
        return render(request, "common/error.html", context, status=status)
