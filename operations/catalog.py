"""The API catalog: every API of every layer with its OpenAPI document and its recent figures from the call trace,
and the application network drawn as a dependency graph (server-side SVG: the CSP allows no script).

Each layer declares its APIs in its own `catalog` module; this page only merges them with `api_figures()`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from graphlib import CycleError, TopologicalSorter
from itertools import groupby
from statistics import mean
from urllib.parse import quote

from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from experience_apis import catalog as experience_catalog
from kernel.apis import CatalogApi, SystemOfRecord
from kernel.tracing import TASK_API
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
# The graph's columns, left to right.
TITLES = {layer: title for layer, title, _ in LAYERS} | {SYSTEMS_OF_RECORD: "Systems of record"}
# What an API of each layer may call: the layer rule (never upward, never skipping) applied to the catalog.
MAY_CALL = {"experience": ("process",), "process": ("process", "system"), "system": (SYSTEMS_OF_RECORD,)}
LAYER_COLOURS = {"experience": "#417690", "process": "#c27c0e", "system": "#5b8a3c", SYSTEMS_OF_RECORD: "#666666"}
FAILING_COLOUR = "#ba2121"
# Their operations are in the internal OpenAPI schema only (incidents_site.api_docs).
INTERNAL_LAYERS = ("process", "system")
NO_CALLS = ApiFigures(calls=0, errors=0, p50_ms=None, p95_ms=None)


# --- the catalog's entries ----------------------------------------------------------------------


def node_key(layer: str, name: str) -> str:
    """The graph's id of an API or a system of record: names repeat across them (the slack API calls Slack)."""
    return f"{layer}-{name}"


@dataclass(frozen=True)
class Entry:
    layer: str
    api: CatalogApi
    figures: ApiFigures
    called_by: list[str]

    @property
    def key(self) -> str:
        return node_key(self.layer, self.api.name)

    @property
    def error_rate_percent(self) -> float:
        return self.figures.error_rate * 100

    @property
    def internal(self) -> bool:
        return self.layer in INTERNAL_LAYERS

    @property
    def schema_url(self) -> str:
        return reverse("api-internal-schema" if self.internal else "api-schema")

    @property
    def docs_url(self) -> str:
        if not self.api.openapi_tag:
            return ""
        return (
            f"{reverse('api-internal-docs' if self.internal else 'api-docs')}#/{quote(self.api.openapi_tag, safe='')}"
        )


@dataclass(frozen=True)
class SystemEntry:
    system: SystemOfRecord
    circuit: str
    called_by: list[str]

    @property
    def key(self) -> str:
        return node_key(SYSTEMS_OF_RECORD, self.system.name)


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
    columns: list[GraphColumn]
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    node_width: int = NODE_WIDTH
    node_height: int = NODE_HEIGHT


def dependency_graph(entries: Sequence[Entry], systems: Sequence[SystemEntry], calls: Sequence[Call]) -> Graph:
    """Columns Experience -> Process -> System -> systems of record, an edge per declared call.

    A layer whose APIs call each other (customer_incidents calls customers) takes one column per step, so
    that no edge runs inside a column; in each column the nodes sit in the order of their callers' heights,
    which keeps the edges from crossing where the network allows it. A column past the first that holds
    an API nobody calls (the Celery worker's tasks) sits at the bottom, clear of the edges that pass it; the
    worker's tasks below any other API that nothing calls yet, since no consumer ever will call them.
    """
    edges = [(call.source, call.target) for call in calls]
    called = {callee for _, callee in edges}
    boxes = [_api_box(entry) for entry in entries] + [_system_box(system) for system in systems]
    columns = _columns(boxes, edges)
    rows = max(len(column) for _, column in columns)
    centre_y: dict[str, float] = {}

    def height_of_callers(box: GraphNode) -> float:
        heights = [centre_y[caller] for caller, callee in edges if callee == box.key and caller in centre_y]
        return mean(heights) if heights else float("inf")

    nodes: list[GraphNode] = []
    headings: list[GraphColumn] = []
    for index, (layer, column) in enumerate(columns):
        x = MARGIN + index * COLUMN_PITCH
        if index == 0 or columns[index - 1][0] != layer:
            headings.append(GraphColumn(title=TITLES[layer], x=x))
        # Stable: ties keep the declared order.
        ordered = sorted(column, key=lambda box: (height_of_callers(box), box.label == TASK_API))
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
        columns=headings,
        nodes=nodes,
        edges=[GraphEdge(source, target, _edge_path(by_key[source], by_key[target])) for source, target in edges],
    )


def _api_box(entry: Entry) -> GraphNode:
    calls = entry.figures.calls
    detail = f"{calls} call{'' if calls == 1 else 's'} · {entry.error_rate_percent:.1f}% errors"
    return GraphNode(entry.key, entry.layer, entry.api.name, entry.api.title, detail, entry.figures.errors > 0)


def _system_box(system: SystemEntry) -> GraphNode:
    detail = f"circuit {system.circuit.replace('_', '-')}"
    return GraphNode(
        system.key, SYSTEMS_OF_RECORD, system.system.title, system.system.title, detail, system.circuit != "closed"
    )


def _columns(boxes: list[GraphNode], edges: list[tuple[str, str]]) -> list[tuple[str, list[GraphNode]]]:
    """Each layer's boxes split into steps: a box one step right of every same-layer box that calls it."""
    layer_of = {box.key: box.layer for box in boxes}
    same_layer_callers: dict[str, list[str]] = defaultdict(list)
    for caller, callee in edges:
        if layer_of[caller] == layer_of[callee]:
            same_layer_callers[callee].append(caller)
    step: dict[str, int] = defaultdict(int)
    try:
        for key in TopologicalSorter(same_layer_callers).static_order():
            step[key] = max((step[caller] + 1 for caller in same_layer_callers[key]), default=0)
    except CycleError as circle:
        raise ImproperlyConfigured(f"the catalog's calls go round in a circle: {' -> '.join(circle.args[1])}") from None
    layer_order = list(TITLES)
    in_order = sorted(boxes, key=lambda box: (layer_order.index(box.layer), step[box.key]))
    return [
        (layer, list(column)) for (layer, _), column in groupby(in_order, key=lambda box: (box.layer, step[box.key]))
    ]


def _edge_path(source: GraphNode, target: GraphNode) -> str:
    x1, y1 = source.x + NODE_WIDTH, source.y + NODE_HEIGHT // 2
    x2, y2 = target.x, target.y + NODE_HEIGHT // 2
    bend = (x2 - x1) / 2
    return f"M {x1} {y1} C {x1 + bend:g} {y1}, {x2 - bend:g} {y2}, {x2} {y2}"


# --- the page ------------------------------------------------------------------------------------


@never_cache
@login_required(login_url="admin:login")
def api_catalog(request: HttpRequest) -> HttpResponse:
    if not (request.user.is_active and request.user.is_staff):
        raise PermissionDenied("The API catalog is for staff.")
    calls = declared_calls()
    called_by: dict[str, list[str]] = defaultdict(list)
    for call in calls:
        called_by[call.target].append(call.caller)
    figures = api_figures()
    entries = [
        Entry(layer, api, figures.get((layer, api.name), NO_CALLS), called_by[node_key(layer, api.name)])
        for layer, _, apis in LAYERS
        for api in apis
    ]
    circuits = {circuit.system: circuit.state for circuit in circuit_statuses()}
    systems = [
        SystemEntry(system, circuits.get(system.name, "unknown"), called_by[node_key(SYSTEMS_OF_RECORD, system.name)])
        for system in system_catalog.SYSTEMS_OF_RECORD
    ]
    context = {
        **admin.site.each_context(request),
        "title": "API catalog",
        # The tables and the graph need the page's width more than the admin's app list.
        "is_nav_sidebar_enabled": False,
        "layers": [(title, [entry for entry in entries if entry.layer == layer]) for layer, title, _ in LAYERS],
        "systems": systems,
        "graph": dependency_graph(entries, systems, calls),
    }
    return render(request, "operations/api_catalog.html", context)
