from django.urls import path

from apps.gradebook import views

urlpatterns = [
    path("<slug:slug>/", views.gradebook_page, name="gradebook"),
    path("<slug:slug>/export.csv", views.gradebook_csv, name="gradebook_csv"),
    path("<slug:slug>/report/", views.gradebook_report, name="gradebook_report"),
    path("<slug:slug>/access-log/", views.gradebook_access_log, name="gradebook_access_log"),
    path("<slug:slug>/my-data.zip", views.student_data_download, name="student_data_download"),
    # Any valid username (letters, digits and @ . + - _), so not a slug.
    path("<slug:slug>/students/<str:username>/", views.gradebook_student, name="gradebook_student"),
    path("<slug:slug>/students/<str:username>/delete/", views.student_data_delete_view, name="student_data_delete"),
    path("training-runs/<int:run_id>/reviews/", views.run_review_create, name="run_review_create"),
]
