"""The teacher's buttons for the public model link (the link's own addresses are in link_urls.py)."""
from django.urls import path

from apps.sharing import views

urlpatterns = [
    path("projects/<slug:slug>/model-link/", views.model_link_share_view, name="model_link_share"),
    path("projects/<slug:slug>/model-link/withdraw/", views.model_link_withdraw_view, name="model_link_withdraw"),
]
