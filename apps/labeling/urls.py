from django.urls import path

from apps.labeling import views

urlpatterns = [path("<slug:slug>/", views.labeling, name="labeling")]
