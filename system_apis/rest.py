"""How the System APIs' REST faces describe their errors (the shape is `kernel.rest`'s `ApiError`)."""

from drf_spectacular.utils import OpenApiResponse

from kernel.rest import UNSUPPORTED_MEDIA_TYPE, described_errors


def error_responses(system: str, *codes: int, **descriptions: str) -> dict[int, OpenApiResponse]:
    """OpenAPI responses for the error `codes` an endpoint of `system` can answer; `e404="..."` overrides one."""
    defaults = {
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
    }
    return described_errors(defaults, codes, descriptions)
