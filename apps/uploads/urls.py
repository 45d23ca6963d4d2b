from django.urls import path

from apps.uploads import views

urlpatterns = [path("", views.image_upload, name="image_upload")]
