from django.urls import path

from .api import LegacyCustomerDetailApi, LegacyCustomerListApi

urlpatterns = [
    path("customers", LegacyCustomerListApi.as_view(), name="legacy-customers"),
    path("customers/<str:customer_number>", LegacyCustomerDetailApi.as_view(), name="legacy-customer"),
]
