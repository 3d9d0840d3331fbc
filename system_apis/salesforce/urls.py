from django.urls import path

from . import api

urlpatterns = [
    path("contacts", api.ContactListApi.as_view(), name="salesforce-contacts"),
]
