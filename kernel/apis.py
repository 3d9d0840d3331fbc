"""How each layer declares its APIs, once: the catalog, the request middleware and the call trace read these.

Each layer has a `catalog` module with its `APIS`; `name` is the API's name in the call trace; `calls` names
what the API calls: for a System API, its system of record; for the layers above, APIs of their own layer or
the layer below.
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
