from django.urls import path

from apps.scratch import views

urlpatterns = [
    path("scratch/", views.scratch_editor, name="scratch_editor"),
    path("scratch/riim.js", views.scratch_extension, name="scratch_extension"),
    # Scratch's bundle loads its chunks from the site's root (its webpack public path is "/").
    path("chunks/<str:name>", views.scratch_chunk, name="scratch_chunk"),
]
