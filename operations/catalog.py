"""The API catalog: every API of every layer with its OpenAPI document and its recent figures from the call trace,
and the application network drawn as a dependency graph (server-side SVG: the CSP allows no script).

Each layer declares its APIs in its own `catalog` module; this page only merges them with `api_figures()`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import wraps
from statistics import mean
from typing import Any
from urllib.parse import quote

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from experience_apis import catalog as experience_catalog
from kernel.apis import CatalogApi, SystemOfRecord
from process_apis import catalog as process_catalog
from system_apis import catalog as system_catalog
from system_apis.circuit import circuit_statuses

from .selectors import ApiFigures, api_figures

LAYERS: tuple[tuple[str, str, Sequence[CatalogApi]], ...] = (
    ("experience", "Experience", experience_catalog.APIS),
    ("process", "Process", process_catalog.APIS),
    ("system", "System", system_catalog.APIS),
)
SYSTEMS_OF_RECORD = "systems-of-record"
# What an API of each layer may call: the layer rule (never upward, never skipping) applied to the catalog.
MAY_CALL = {"experience": ("process",), "process": ("process", "system"), "system": (SYSTEMS_OF_RECORD,)}
LAYER_COLOURS = {"experience": "#417690", "process": "#c27c0e", "system": "#5b8a3c", SYSTEMS_OF_RECORD: "#666666"}
FAILING_COLOUR = "#ba2121"


# --- the catalog's entries ----------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One API of the catalog with its figures (None: no call in the window)."""

    layer: str
    api: CatalogApi
    figures: ApiFigures | None
    called_by: tuple[str, ...]

    @property
    def key(self) -> str:
        return node_key(self.layer, self.api.name)

    @property
    def calls(self) -> int:
        return self.figures.calls if self.figures else 0

    @property
    def errors(self) -> int:
        return self.figures.errors if self.figures else 0

    @property
    def error_rate_percent(self) -> float:
        return self.figures.error_rate * 100 if self.figures else 0.0

    @property
    def docs_url(self) -> str:
        return f"{reverse('api-docs')}#/{quote(self.api.openapi_tag, safe='')}" if self.api.openapi_tag else ""


@dataclass(frozen=True)
class SystemEntry:
    system: SystemOfRecord
    circuit: str
    called_by: tuple[str, ...]

    @property
    def key(self) -> str:
        return node_key(SYSTEMS_OF_RECORD, self.system.name)


def node_key(layer: str, name: str) -> str:
    """The graph's id of an API or a system of record: names repeat across them (the slack API calls Slack)."""
    return f"{layer}-{name}"


@dataclass(frozen=True)
class Call:
    """A declared call of the API `caller` of `caller_layer` to `callee` of `callee_layer`."""

    caller_layer: str
    caller: str
    callee_layer: str
    callee: str

    @property
    def source(self) -> str:
        return node_key(self.caller_layer, self.caller)

    @property
    def target(self) -> str:
        return node_key(self.callee_layer, self.callee)


def declared_calls(
    layers: Sequence[tuple[str, str, Sequence[CatalogApi]]] = LAYERS,
    systems: Sequence[SystemOfRecord] = system_catalog.SYSTEMS_OF_RECORD,
) -> list[Call]:
    """Every declared call; a name not declared where its caller may call (see MAY_CALL) is a configuration error."""
    declared = {layer: {api.name for api in apis} for layer, _, apis in layers}
    declared[SYSTEMS_OF_RECORD] = {system.name for system in systems}
    calls = []
    for layer, _, apis in layers:
        for api in apis:
            for name in api.calls:
                callee_layer = next((target for target in MAY_CALL[layer] if name in declared.get(target, ())), None)
                if callee_layer is None:
                    may_call = " or ".join(MAY_CALL[layer])
                    raise ImproperlyConfigured(f"{layer} API {api.name!r} calls {name!r}, not declared in {may_call}")
                calls.append(Call(layer, api.name, callee_layer, name))
    return calls


def catalog_entries(figures: dict[tuple[str, str], ApiFigures]) -> list[Entry]:
    callers = _callers_by_key(declared_calls())
    return [
        Entry(
            layer=layer,
            api=api,
            figures=figures.get((layer, api.name)),
            called_by=callers.get(node_key(layer, api.name), ()),
        )
        for layer, _, apis in LAYERS
        for api in apis
    ]


def system_entries(circuits: dict[str, str]) -> list[SystemEntry]:
    callers = _callers_by_key(declared_calls())
    return [
        SystemEntry(
            system=system,
            circuit=circuits.get(system.name, "unknown"),
            called_by=callers.get(node_key(SYSTEMS_OF_RECORD, system.name), ()),
        )
        for system in system_catalog.SYSTEMS_OF_RECORD
    ]


def _callers_by_key(calls: Iterable[Call]) -> dict[str, tuple[str, ...]]:
    callers: dict[str, tuple[str, ...]] = {}
    for call in calls:
        callers[call.target] = (*callers.get(call.target, ()), call.caller)
    return callers


# --- the dependency graph -----------------------------------------------------------------------

NODE_WIDTH, NODE_HEIGHT = 180, 52
COLUMN_PITCH, ROW_PITCH = 230, 72
TOP, MARGIN = 44, 10


@dataclass(frozen=True)
class GraphNode:
    key: str
    layer: str
    label: str
    title: str
    detail: str
    failing: bool
    x: int = 0  # placed by dependency_graph()
    y: int = 0

    @property
    def href(self) -> str:
        return f"#{self.key}"

    @property
    def stroke(self) -> str:
        return FAILING_COLOUR if self.failing else LAYER_COLOURS[self.layer]

    @property
    def text_colour(self) -> str:
        return FAILING_COLOUR if self.failing else "#444444"

    @property
    def text_x(self) -> int:
        return self.x + NODE_WIDTH // 2


@dataclass(frozen=True)
class GraphEdge:
    source: str
    target: str
    path: str


@dataclass(frozen=True)
class GraphColumn:
    title: str
    x: int


@dataclass(frozen=True)
class Graph:
    width: int
    height: int
    node_width: int
    node_height: int
    columns: list[GraphColumn]
    nodes: list[GraphNode]
    edges: list[GraphEdge]


def dependency_graph(entries: Sequence[Entry], systems: Sequence[SystemEntry]) -> Graph:
    """Columns Experience -> Process -> System -> systems of record, an edge per declared call.

    A layer whose APIs call each other (customer_incidents calls customers) takes one column per step, so
    that no edge runs inside a column; in each column the nodes sit in the order of their callers' heights,
    which keeps the edges from crossing where the network allows it. A column past the first that holds
    an API nobody calls (the Celery worker's tasks) sits at the bottom, clear of the edges that pass it.
    """
    edges = [(call.source, call.target) for call in declared_calls()]
    called = {callee for _, callee in edges}
    boxes = [_api_box(entry) for entry in entries] + [_system_box(system) for system in systems]
    columns = _columns(boxes, edges)
    rows = max(len(column) for _, column in columns)
    centre_y: dict[str, float] = {}
    nodes: list[GraphNode] = []
    headings: list[GraphColumn] = []
    seen_layers: set[str] = set()
    for index, (layer, column) in enumerate(columns):
        x = MARGIN + index * COLUMN_PITCH
        if layer not in seen_layers:
            seen_layers.add(layer)
            headings.append(GraphColumn(title=_layer_title(layer), x=x))
        ordered = _ordered_by_callers(column, edges, centre_y)
        entry_points_inside = index > 0 and any(box.key not in called for box in ordered)
        offset = (rows - len(ordered)) * ROW_PITCH / (1 if entry_points_inside else 2)
        for row, box in enumerate(ordered):
            y = round(TOP + offset + row * ROW_PITCH)
            centre_y[box.key] = y + NODE_HEIGHT / 2
            nodes.append(replace(box, x=x, y=y))
    by_key = {node.key: node for node in nodes}
    return Graph(
        width=MARGIN * 2 + (len(columns) - 1) * COLUMN_PITCH + NODE_WIDTH,
        height=TOP + rows * ROW_PITCH,
        node_width=NODE_WIDTH,
        node_height=NODE_HEIGHT,
        columns=headings,
        nodes=nodes,
        edges=[GraphEdge(source, target, _edge_path(by_key[source], by_key[target])) for source, target in edges],
    )


def _api_box(entry: Entry) -> GraphNode:
    detail = f"{entry.calls} call{'' if entry.calls == 1 else 's'} · {entry.error_rate_percent:.1f}% errors"
    return GraphNode(entry.key, entry.layer, entry.api.name, entry.api.title, detail, failing=entry.errors > 0)


def _system_box(system: SystemEntry) -> GraphNode:
    detail = f"circuit {system.circuit.replace('_', '-')}"
    return GraphNode(
        system.key, SYSTEMS_OF_RECORD, system.system.title, system.system.title, detail, system.circuit != "closed"
    )


def _columns(boxes: list[GraphNode], edges: list[tuple[str, str]]) -> list[tuple[str, list[GraphNode]]]:
    """Each layer's boxes split into steps: a box one step right of every same-layer box that calls it."""
    layer_of = {box.key: box.layer for box in boxes}
    same_layer_callers: dict[str, list[str]] = {}
    for caller, callee in edges:
        if layer_of[caller] == layer_of[callee]:
            same_layer_callers.setdefault(callee, []).append(caller)
    step: dict[str, int] = {}

    def step_of(key: str, path: tuple[str, ...] = ()) -> int:
        if key not in step:
            if key in path:
                raise ImproperlyConfigured(f"the catalog's calls go round in a circle: {' -> '.join((*path, key))}")
            step[key] = max(
                (step_of(caller, (*path, key)) + 1 for caller in same_layer_callers.get(key, ())), default=0
            )
        return step[key]

    columns = []
    for layer in [layer for layer, _, _ in LAYERS] + [SYSTEMS_OF_RECORD]:
        in_layer = [box for box in boxes if box.layer == layer]
        for number in range(max((step_of(box.key) for box in in_layer), default=-1) + 1):
            columns.append((layer, [box for box in in_layer if step_of(box.key) == number]))
    return columns


def _ordered_by_callers(
    column: list[GraphNode], edges: list[tuple[str, str]], centre_y: dict[str, float]
) -> list[GraphNode]:
    def height_of_callers(box: GraphNode) -> float:
        heights = [centre_y[caller] for caller, callee in edges if callee == box.key and caller in centre_y]
        return mean(heights) if heights else float("inf")

    return sorted(column, key=height_of_callers)  # stable: ties keep the declared order


def _edge_path(source: GraphNode, target: GraphNode) -> str:
    x1, y1 = source.x + NODE_WIDTH, source.y + NODE_HEIGHT // 2
    x2, y2 = target.x, target.y + NODE_HEIGHT // 2
    bend = (x2 - x1) / 2
    return f"M {x1} {y1} C {x1 + bend:g} {y1}, {x2 - bend:g} {y2}, {x2} {y2}"


def _layer_title(layer: str) -> str:
    return "Systems of record" if layer == SYSTEMS_OF_RECORD else dict((key, title) for key, title, _ in LAYERS)[layer]


# --- the page ------------------------------------------------------------------------------------


def staff_only(view: Any) -> Any:
    """Anonymous visitors go to the admin's login; a signed-in user who is not staff is refused."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        if not (request.user.is_active and request.user.is_staff):
            raise PermissionDenied("The API catalog is for staff.")
        return view(request, *args, **kwargs)

    return guarded


@never_cache
@staff_only
def api_catalog(request: HttpRequest) -> HttpResponse:
    entries = catalog_entries(api_figures())
    systems = system_entries({circuit.system: circuit.state for circuit in circuit_statuses()})
    layers = [(title, [entry for entry in entries if entry.layer == layer]) for layer, title, _ in LAYERS]
    context = {
        **admin.site.each_context(request),
        "title": "API catalog",
        # The tables and the graph need the page's width more than the admin's app list.
        "is_nav_sidebar_enabled": False,
        "layers": layers,
        "systems": systems,
        "graph": dependency_graph(entries, systems),
    }
    return render(request, "operations/api_catalog.html", context)
