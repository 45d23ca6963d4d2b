from django.urls import path

from apps.labeling import views

urlpatterns = [
    path("<slug:slug>/", views.labeling, name="labeling"),
    path("<slug:slug>/review/", views.label_review, name="label_review"),
]
