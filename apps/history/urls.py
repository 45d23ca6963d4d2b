from django.urls import path

from apps.history import views

urlpatterns = [
    path("", views.history_mine, name="history_mine"),
    path("activity/", views.history_activity, name="history_activity"),
]
