from csp.decorators import csp_update
from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

# Swagger UI comes from its CDN and its page has a <style> block: the one page whose policy allows
# them. The split view serves its start-up script as a file, so no inline script is needed.
SWAGGER_CDN = "https://cdn.jsdelivr.net"
swagger_csp = csp_update({"script-src": [SWAGGER_CDN], "style-src": [SWAGGER_CDN, "'unsafe-inline'"], "img-src": [SWAGGER_CDN]})

urlpatterns = [
    # Browsers ask for /favicon.ico on their own, in parallel with a visitor's first page. Answered by the
    # 404 page, that request rendered the language form, minted a second CSRF cookie and, when it
    # arrived last, made the first login fail with 403. A redirect to the static icon renders nothing.
    path("favicon.ico", RedirectView.as_view(url=static("img/favicon.svg"), permanent=True)),
    path("i18n/", include("django.conf.urls.i18n")),
    # The scripts' strings (gettext() in static/js), from the djangojs catalogue of the reader's language.
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("api/v1/", include("riim_site.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", swagger_csp(SpectacularSwaggerSplitView.as_view(url_name="schema")), name="swagger-ui"),
    # Public model links (apps.sharing): no login, readable from any origin.
    path("m/", include("apps.sharing.link_urls")),
    path("admin/", admin.site.urls),
    path("accounts/", include("apps.accounts.urls")),
    path("history/", include("apps.history.urls")),
    path("upload/", include("apps.uploads.urls")),
    path("label/", include("apps.labeling.urls")),
    path("lab/", include("apps.lab.urls")),
    path("gradebook/", include("apps.gradebook.urls")),
    path("", include("apps.scratch.urls")),
    path("", include("apps.inference.urls")),
    path("", include("apps.training.urls")),
    path("", include("apps.sharing.urls")),
    path("", include("apps.projects.urls")),
]

# A database connection error is answered 503 with Retry-After, whichever layer raised it.
handler500 = "apps.common.database_errors.server_error"
