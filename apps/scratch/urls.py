from django.urls import path

from apps.scratch import views

urlpatterns = [
    path("scratch/", views.scratch_editor, name="scratch_editor"),
    path("scratch/riim.js", views.scratch_extension, name="scratch_extension"),
    path("projects/<slug:slug>/scratch-key/", views.scratch_key_create_view, name="scratch_key_create"),
    path("projects/<slug:slug>/scratch-key/revoke/", views.scratch_key_revoke_view, name="scratch_key_revoke"),
    path("projects/<slug:slug>/scratch-settings/", views.scratch_settings_view, name="scratch_settings"),
    # Scratch's bundle loads its chunks from the site's root (its webpack public path is "/").
    path("chunks/<str:name>", views.scratch_chunk, name="scratch_chunk"),
]
