"""The ServiceNow stand-in, mounted at /servicenow/ of the sandbox: its instance root."""

from django.urls import path

from . import views

urlpatterns = [
    path("api/now/table/<str:table>", views.table_view, name="sandbox-servicenow-table"),
    path("api/now/table/<str:table>/<str:sys_id>", views.record_view, name="sandbox-servicenow-record"),
    path("nav_to.do", views.nav_to_view, name="sandbox-servicenow-nav"),
]
# The versioned spellings of the same Table API, as an instance also serves them.
urlpatterns += [
    route
    for version in ("v1", "v2")
    for route in (
        path(f"api/now/{version}/table/<str:table>", views.table_view),
        path(f"api/now/{version}/table/<str:table>/<str:sys_id>", views.record_view),
    )
]
