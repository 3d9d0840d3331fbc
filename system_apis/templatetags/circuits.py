"""The circuit states box of the admin home: which systems are failing fast, and until when."""

from __future__ import annotations

from typing import Any

from django import template

from system_apis.circuit import circuit_statuses

register = template.Library()


@register.inclusion_tag("system_apis/circuit_states.html")
def circuit_states() -> dict[str, Any]:
    """Every system's circuit as the next call would find it: closed, open or half-open."""
    circuits = circuit_statuses()
    return {"circuits": circuits, "open_count": sum(1 for circuit in circuits if circuit.state == "open")}
