"""How the Process APIs' REST faces describe their errors (the shape is `kernel.rest`'s `ApiError`)."""

from kernel.rest import UNSUPPORTED_MEDIA_TYPE, ErrorDocs

ERRORS = ErrorDocs(
    {
        400: "The request is not valid.",
        401: "Not authenticated: log in to the admin as staff, or send an internal API client's bearer token.",
        403: "Not allowed: staff or internal API clients only.",
        404: "No such record.",
        409: "The request conflicts with the record's state.",
        415: UNSUPPORTED_MEDIA_TYPE,
        502: "A system of record refused the request or Incident Hub's credentials; retrying will not help.",
        503: "A system of record is unreachable, failing or busy; try again later (after Retry-After when given).",
    }
)
