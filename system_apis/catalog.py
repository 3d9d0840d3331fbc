"""The System APIs in the API catalog: one per system of record, and the systems of record themselves.

Each layer declares its own APIs in a `catalog` module; the site's catalog page merges the three with the
figures of the call trace. `name` is the API's name in the trace (TracedCall.api); `calls` names what the
API calls: for a System API, its system of record; for the layers above, APIs of their own layer or the
layer below.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CatalogApi:
    name: str
    title: str
    version: str
    base_path: str
    # The tag of its operations in the OpenAPI document at /api/schema/ ("" when it has none there).
    openapi_tag: str = ""
    calls: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class SystemOfRecord:
    name: str
    title: str


SYSTEMS_OF_RECORD = (
    SystemOfRecord("servicenow", "ServiceNow"),
    SystemOfRecord("salesforce", "Salesforce"),
    SystemOfRecord("slack", "Slack"),
    SystemOfRecord("legacy_db", "Legacy customer DB"),
)

APIS = (
    CatalogApi(
        name="servicenow",
        title="ServiceNow incidents",
        version="v1",
        base_path="/api/system/servicenow/v1/",
        # Its operations carry no tag of their own yet, so the schema files them under drf-spectacular's default.
        openapi_tag="System: ServiceNow",
        calls=("servicenow",),
    ),
    CatalogApi(
        name="salesforce",
        title="Salesforce contacts",
        version="v1",
        base_path="/api/system/salesforce/v1/",
        openapi_tag="System: Salesforce",
        calls=("salesforce",),
    ),
    CatalogApi(
        name="slack",
        title="Slack messages",
        version="v1",
        base_path="/api/system/slack/v1/",
        openapi_tag="System: Slack",
        calls=("slack",),
    ),
    CatalogApi(
        name="legacy_db",
        title="Legacy customers",
        version="v1",
        base_path="/api/system/legacy-customers/v1/",
        openapi_tag="System: legacy customers",
        calls=("legacy_db",),
    ),
)
