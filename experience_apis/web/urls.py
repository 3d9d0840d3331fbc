from django.urls import path

from . import views

app_name = "web"

urlpatterns = [
    path("", views.report, name="report"),
    path("reports/<str:reference>", views.report_done, name="report-done"),
    path("status", views.status, name="status"),
]
