"""Reads of the call trace: one report's timeline, and each API's recent figures."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from statistics import quantiles

from django.db.models import Count, F, Q, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from .models import TracedCall


@dataclass(frozen=True)
class TimelineEntry:
    call: TracedCall
    depth: int
    offset_ms: float


@dataclass(frozen=True)
class ApiFigures:
    calls: int
    errors: int
    p50_ms: float | None
    p95_ms: float | None

    @property
    def error_rate(self) -> float:
        return self.errors / self.calls if self.calls else 0.0


def incident_timeline(*, reference: str) -> list[TimelineEntry]:
    """Every recorded call of every flow that served the report, in order, nested by caller."""
    calls = list(TracedCall.objects.filter(reference=reference).order_by("started_at", "id"))
    if not calls:
        return []
    parent_of = {call.span_id: call.parent_span_id for call in calls}
    first = calls[0].started_at

    def depth(call: TracedCall) -> int:
        level, parent = 0, call.parent_span_id
        while parent in parent_of:
            level, parent = level + 1, parent_of[parent]
        return level

    return [
        TimelineEntry(call=call, depth=depth(call), offset_ms=(call.started_at - first).total_seconds() * 1000)
        for call in calls
    ]


def api_figures(*, window: timedelta = timedelta(hours=24), sample: int = 5000) -> dict[tuple[str, str], ApiFigures]:
    """Calls, errors and p50/p95 latency per (layer, api) over the window; the percentiles of its latest
    `sample` calls, so that a busy API costs a bounded read."""
    recent = TracedCall.objects.filter(started_at__gte=timezone.now() - window)
    totals = (
        recent.values("layer", "api")
        .annotate(calls=Count("id"), errors=Count("id", filter=Q(ok=False)))
        .order_by("layer", "api")
    )
    latest_first = Window(RowNumber(), partition_by=[F("layer"), F("api")], order_by=F("started_at").desc())
    durations_of: dict[tuple[str, str], list[float]] = defaultdict(list)
    for layer, api, duration in (
        recent.annotate(latest=latest_first).filter(latest__lte=sample).values_list("layer", "api", "duration_ms")
    ):
        durations_of[(layer, api)].append(duration)
    figures = {}
    for total in totals:
        durations = durations_of[(total["layer"], total["api"])]
        figures[(total["layer"], total["api"])] = ApiFigures(
            calls=total["calls"],
            errors=total["errors"],
            p50_ms=_percentile(durations, 50),
            p95_ms=_percentile(durations, 95),
        )
    return figures


def _percentile(values: list[float], percent: int) -> float | None:
    if len(values) < 2:  # statistics.quantiles needs two values (before Python 3.13)
        return values[0] if values else None
    return quantiles(values, n=100, method="inclusive")[percent - 1]
