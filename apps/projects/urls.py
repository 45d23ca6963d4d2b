from django.urls import path

from apps.projects import network_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("projects/new/", views.project_create_view, name="project_create"),
    path("projects/join/", views.project_join_view, name="project_join"),
    path("projects/<slug:slug>/", views.project_detail, name="project_detail"),
    path("projects/<slug:slug>/network/", network_views.project_network_view, name="project_network"),
    path("projects/<slug:slug>/join-code/", views.project_join_code_view, name="project_join_code"),
    path("invitations/<int:invitation_id>/accept/", views.invitation_answer, {"answer": "accept"}, name="invitation_accept"),
    path("invitations/<int:invitation_id>/decline/", views.invitation_answer, {"answer": "decline"}, name="invitation_decline"),
]
