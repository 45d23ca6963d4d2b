from django.urls import path

from apps.projects import views

urlpatterns = [
    path("", views.home, name="home"),
    path("projects/new/", views.project_create_view, name="project_create"),
    path("projects/join/", views.project_join_view, name="project_join"),
    path("projects/<slug:slug>/", views.project_detail, name="project_detail"),
]
