from django.urls import path

from .api import ServiceNowIncidentEventsApi

urlpatterns = [
    path("incidents", ServiceNowIncidentEventsApi.as_view(), name="events-servicenow-incidents"),
]
