from django.urls import path

from apps.uploads import views

urlpatterns = [
    path("", views.image_upload, name="image_upload"),
    path("import/", views.image_import_page, name="image_import"),
    path("moderate/", views.moderation, name="moderation"),
]
