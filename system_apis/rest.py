"""How the System APIs' REST faces describe their errors (the shape is `kernel.rest`'s `ApiError`)."""

from kernel.rest import UNSUPPORTED_MEDIA_TYPE, ErrorDocs


def system_errors(system: str, described: dict[int, str] | None = None) -> ErrorDocs:
    """The errors an endpoint of `system` can answer; `described` overrides some descriptions."""
    return ErrorDocs(
        {
            400: f"The request is not valid, or {system} refused it.",
            401: "Not authenticated: log in to the admin as staff, or send an internal API client's bearer token.",
            403: "Not allowed: staff or internal API clients only.",
            404: f"{system} has no such record.",
            409: "The request conflicts with the record's state.",
            415: UNSUPPORTED_MEDIA_TYPE,
            429: f"{system} asks to slow down; see Retry-After.",
            502: f"{system} refused Incident Hub's credentials.",
            503: f"{system} is unreachable, failing, or answered something unreadable.",
            504: f"{system} did not answer in time.",
            **(described or {}),
        }
    )
