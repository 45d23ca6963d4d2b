"""The public model link's addresses: /m/<token>/<file> (included under m/ by riim_site/urls.py)."""
from django.urls import path

from apps.sharing import views

urlpatterns = [
    path("<str:token>/", views.model_link_file_view, name="model_link_root"),
    path("<str:token>/<path:name>", views.model_link_file_view, name="model_link_file"),
]
