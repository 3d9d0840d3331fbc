from django.urls import path

from .api import IncidentDetailApi, IncidentListCreateApi

urlpatterns = [
    path("incidents", IncidentListCreateApi.as_view(), name="v1-incidents"),
    path("incidents/<str:reference>", IncidentDetailApi.as_view(), name="v1-incident"),
]
