"""What can go wrong with a Kubernetes API call, as exception types, and the one mapping from an
HTTP answer to them.

A call either got no HTTP answer (`TransportError`; `Timeout` when the configured timeout ran out)
or an answer that was not a success (`ApiError`, with the HTTP `status`, the Status body's `reason`
and `message`). The class follows the status; the Status `reason` refines it where Kubernetes
gives one status two meanings (409: `AlreadyExists` or `Conflict`). Callers catch the type they
mean (`NotFound`, `Gone`, `Forbidden`…) instead of comparing numbers or matching text.
"""

from __future__ import annotations

import msgspec

MESSAGE_MAX = 300


class KubeError(Exception):
    """A Kubernetes API call that did not give the caller what it asked for."""


class TransportError(KubeError):
    """The call produced no HTTP answer: refused, cut short, a TLS failure."""


class Timeout(TransportError):
    """No answer within the configured timeout."""


class UnreadableResponse(KubeError):
    """An answer whose body is not the JSON it should be."""


class ApiError(KubeError):
    """The API server (or a proxy in front of it) answered, but not with success."""

    def __init__(self, status: int, message: str, reason: str = "", *, size: int = 0) -> None:
        self.status = status
        self.message = message
        self.reason = reason
        """The Status body's machine-readable reason (`NotFound`, `AlreadyExists`, `Expired`…), or ""."""
        self.size = size
        """Bytes of the answer's body (kept for counting, never the body itself: it could echo a secret)."""
        super().__init__(f"HTTP {status}: {message}"[:MESSAGE_MAX])


class BadRequest(ApiError):
    """400: malformed, or (from the kubelet) no such log: no previous run, not started yet."""


class Unauthorized(ApiError):
    """401: the credentials were refused."""


class Forbidden(ApiError):
    """403: RBAC does not allow it."""


class NotFound(ApiError):
    """404: no such object, or (for a CRD) no such resource type."""


class NotAcceptable(ApiError):
    """406: the server cannot answer in the `Accept`ed form (a metadata-only list, say)."""


class Conflict(ApiError):
    """409: the object changed, or a create met an existing object (`AlreadyExists`)."""


class AlreadyExists(Conflict):
    """409 with reason AlreadyExists: a create of an object that is there already."""


class Gone(ApiError):
    """410: a list's `continue` token expired (reason Expired); start the list again."""


class UnsupportedMediaType(ApiError):
    """415: the server does not take this body's content type."""


class Invalid(ApiError):
    """422: the request (a selector, a body) does not validate."""


class TooManyRequests(ApiError):
    """429: the API server's flow control refused the call for now."""


class ServerError(ApiError):
    """5xx: the API server (or etcd, or a proxy) failed."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    406: NotAcceptable,
    409: Conflict,
    410: Gone,
    415: UnsupportedMediaType,
    422: Invalid,
    429: TooManyRequests,
}
_BY_REASON: dict[tuple[int, str], type[ApiError]] = {(409, "AlreadyExists"): AlreadyExists}


class _Status(msgspec.Struct, kw_only=True):
    kind: str = ""
    message: str = ""
    reason: str = ""


def api_error(status: int, body: bytes, http_reason: str = "") -> ApiError:
    """The exception for an HTTP answer that is not a success: its class by the status (refined by
    the Status body's `reason`), its message the Status `message`, else the HTTP reason phrase."""
    message, reason = http_reason, ""
    try:
        parsed = msgspec.json.decode(body, type=_Status)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        parsed = None
    if parsed is not None:
        message = parsed.message or message
        reason = parsed.reason
    cls = _BY_REASON.get((status, reason)) or _BY_STATUS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else ApiError
    return cls(status, message, reason, size=len(body))
