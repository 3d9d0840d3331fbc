"""The sandbox instance's vocabulary: choice labels, its demo users, and what a person sees in a field."""

from __future__ import annotations

import hashlib

STATES = {"1": "New", "2": "In Progress", "3": "On Hold", "6": "Resolved", "7": "Closed", "8": "Canceled"}
PRIORITIES = {"1": "1 - Critical", "2": "2 - High", "3": "3 - Moderate", "4": "4 - Low", "5": "5 - Planning"}
HOLD_REASONS = {"1": "Awaiting Caller", "5": "Awaiting Change", "3": "Awaiting Problem", "4": "Awaiting Vendor"}
# ServiceNow's demo users, whom the sandbox page can assign incidents to, and their names.
USER_NAMES = {"beth.anglin": "Beth Anglin", "david.loo": "David Loo", "fred.luddy": "Fred Luddy"}
USERS = tuple(USER_NAMES)
# The reference fields to sys_user.
USER_FIELDS = {"opened_by", "caller_id", "assigned_to", "resolved_by", "closed_by"}


def user_sys_id(username: str) -> str:
    return hashlib.sha256(f"sys_user:{username}".encode()).hexdigest()[:32]


USER_DISPLAY = {user_sys_id(username): name for username, name in USER_NAMES.items()}


def display_value(name: str, value: str) -> str:
    """What a person sees in the field: a choice's label, a user's name."""
    if name == "state":
        return STATES.get(value, value)
    if name == "priority":
        return PRIORITIES.get(value, value)
    if name == "hold_reason":
        return HOLD_REASONS.get(value, value)
    if name in USER_FIELDS:
        return USER_DISPLAY.get(value, value)
    return value
