from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    # The scripts' strings (gettext() in static/js), from the djangojs catalogue of the reader's language.
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("api/v1/", include("riim_site.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("admin/", admin.site.urls),
    path("accounts/", include("apps.accounts.urls")),
    path("history/", include("apps.history.urls")),
    path("upload/", include("apps.uploads.urls")),
    path("label/", include("apps.labeling.urls")),
    path("lab/", include("apps.lab.urls")),
    path("", include("apps.inference.urls")),
    path("", include("apps.training.urls")),
    path("", include("apps.projects.urls")),
    path("gradebook/", include("apps.gradebook.urls")),
]
