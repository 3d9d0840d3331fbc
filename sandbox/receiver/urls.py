from django.urls import path

from . import views

urlpatterns = [
    path("_sandbox/received", views.received, name="sandbox-webhooks-received"),
    path("<slug:receiver>", views.receive, name="sandbox-webhook-receiver"),
]
