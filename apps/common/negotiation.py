"""Content negotiation for endpoints that only ever answer JSON."""
from rest_framework.negotiation import DefaultContentNegotiation


class JsonOnlyNegotiation(DefaultContentNegotiation):
    """Answer with the view's first renderer (JSON) without reading the Accept header.

    DRF's default parses Accept and the ``?format=`` override on every request to reach the
    same answer when a view has one renderer; a hot endpoint that clients post files to skips
    that. Parsers are still chosen from the request's Content-Type.
    """

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type
