from django.urls import path, re_path

from .api import IncidentDetailApi, IncidentsApi

urlpatterns = [
    path("incidents", IncidentsApi.as_view(), name="servicenow-incidents"),
    # sys_ids are 32 lowercase hex characters; anything else cannot name an incident.
    re_path(r"^incidents/(?P<sys_id>[0-9a-f]{32})$", IncidentDetailApi.as_view(), name="servicenow-incident"),
]
