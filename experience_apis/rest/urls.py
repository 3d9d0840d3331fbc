from django.urls import path

from .api import IncidentDetailApi, IncidentListCreateApi
from .webhooks import WebhookDetailApi, WebhookListCreateApi, WebhookRotateSecretApi

urlpatterns = [
    path("incidents", IncidentListCreateApi.as_view(), name="v1-incidents"),
    path("incidents/<str:reference>", IncidentDetailApi.as_view(), name="v1-incident"),
    path("webhooks", WebhookListCreateApi.as_view(), name="v1-webhooks"),
    path("webhooks/<str:webhook_id>", WebhookDetailApi.as_view(), name="v1-webhook"),
    path("webhooks/<str:webhook_id>/rotate-secret", WebhookRotateSecretApi.as_view(), name="v1-webhook-rotate-secret"),
]
