from django.urls import path

from apps.inference import views

urlpatterns = [
    path("images/<int:image_id>/analysis/", views.analysis_page, name="analysis"),
    path("projects/<slug:slug>/browser/", views.browser_page, name="browser_inference"),
    path("projects/<slug:slug>/live/", views.live_page, name="live_inference"),
]
