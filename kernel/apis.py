"""How each layer declares its APIs, once: the catalog, the request middleware and the call trace read these.

Each layer has a `catalog` module with its `APIS`; `name` is the API's name in the call trace; `calls` names
what the API calls: for a System API, its system of record; for the layers above, APIs of their own layer or
the layer below. A request is the API's when its path starts with `base_path`, or, for an API whose base path
others share (the form's "/"), when it resolved in the API's `url_namespace`.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CatalogApi:
    name: str
    title: str
    version: str
    base_path: str
    # The tag of its operations in the OpenAPI documents ("" when it has none there).
    openapi_tag: str = ""
    calls: tuple[str, ...] = field(default_factory=tuple)
    url_namespace: str = ""

    def serves(self, path: str, url_namespace: str) -> bool:
        """Whether a request for `path`, resolved in `url_namespace`, is one of this API's."""
        if self.url_namespace:
            return url_namespace == self.url_namespace
        return bool(self.base_path) and path.startswith(self.base_path)


@dataclass(frozen=True)
class SystemOfRecord:
    name: str
    title: str
