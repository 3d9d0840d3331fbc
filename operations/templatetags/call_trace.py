"""A report's call trace as a timeline, for the report's admin page (`{% call_trace original.reference %}`)."""

from django import template

from ..catalog import FAILING_COLOUR, LAYER_COLOURS
from ..selectors import incident_timeline

register = template.Library()

TIMELINE_WIDTH = 240  # px of the bars' drawing; each flow's calls are scaled to fit it


@register.inclusion_tag("operations/call_trace.html")
def call_trace(reference: str) -> dict[str, object]:
    """The report's calls with each call's bar placed on one shared time scale (SVG attributes, no styles)."""
    entries = incident_timeline(reference=reference)
    end = max((entry.offset_ms + entry.call.duration_ms for entry in entries), default=0.0) or 1.0
    scale = TIMELINE_WIDTH / end
    rows = [
        {
            "entry": entry,
            "indent": "\u2003" * entry.depth,
            "x": round(entry.offset_ms * scale, 1),
            "width": max(1.0, round(entry.call.duration_ms * scale, 1)),
            "colour": LAYER_COLOURS.get(entry.call.layer, "#777") if entry.call.ok else FAILING_COLOUR,
        }
        for entry in entries
    ]
    return {"call_trace": rows, "call_trace_width": TIMELINE_WIDTH}
