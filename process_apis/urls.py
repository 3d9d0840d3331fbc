from django.urls import path

from .customer_incidents.api import ReportCreateApi, ReportDetailApi, ReportSyncApi
from .customers.api import CustomerLookupApi
from .notifications.api import DeliveryListApi, DeliveryResendApi
from .service_incidents.api import ServiceIncidentCreateApi, ServiceIncidentDetailApi

urlpatterns = [
    path("customers/v1/customers", CustomerLookupApi.as_view(), name="process-customers"),
    path("service-incidents/v1/incidents", ServiceIncidentCreateApi.as_view(), name="process-service-incidents"),
    path(
        "service-incidents/v1/incidents/<str:sys_id>",
        ServiceIncidentDetailApi.as_view(),
        name="process-service-incident",
    ),
    path("notifications/v1/deliveries", DeliveryListApi.as_view(), name="process-deliveries"),
    path("notifications/v1/deliveries/<int:delivery_id>/resend", DeliveryResendApi.as_view(), name="process-resend"),
    path("customer-incidents/v1/reports", ReportCreateApi.as_view(), name="process-reports"),
    path("customer-incidents/v1/reports/<str:reference>", ReportDetailApi.as_view(), name="process-report"),
    path("customer-incidents/v1/reports/<str:reference>/sync", ReportSyncApi.as_view(), name="process-report-sync"),
]
