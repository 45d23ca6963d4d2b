from django.urls import path

from apps.projects import views

urlpatterns = [
    path("", views.home, name="home"),
]
