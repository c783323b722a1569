"""What the simulated API server makes of a request path (its route key, for the request log and
faults) and the faults a test or scenario injects per route (see `bot.sim.server`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.sim.store import Json, ResourceType, find_type

_FAULT_KEYS = {"route", "status", "reason", "message", "delay_ms", "truncate", "gone_on_page", "times"}
STATUS_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}
VERBS = {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


@dataclass
class RouteStats:
    count: int = 0
    bytes: int = 0
    held: int = 0
    """Requests a delay fault is holding right now (not answered yet, so not in `count`)."""


@dataclass
class Fault:
    route: str
    status: int | None = None
    reason: str = ""
    message: str = ""
    delay_ms: float = 0
    truncate: str = ""  # "" | "chunked" | "eof"
    gone_on_page: int | None = None
    times: int | None = None

    @classmethod
    def parse(cls, raw: Any) -> Fault:
        if not isinstance(raw, dict):
            raise ValueError(f"a fault is a mapping, got {raw!r}")
        unknown = set(raw) - _FAULT_KEYS
        if unknown or "route" not in raw:
            raise ValueError(f"fault {raw!r}: needs 'route'; allowed keys {sorted(_FAULT_KEYS)}")
        truncate = raw.get("truncate", False)
        mode = "chunked" if truncate is True else ("" if truncate in (False, None) else str(truncate))
        if mode not in ("", "chunked", "eof"):
            raise ValueError(f"fault {raw!r}: truncate is true, 'chunked' or 'eof'")
        fault = cls(
            route=str(raw["route"]),
            status=int(raw["status"]) if raw.get("status") is not None else None,
            reason=str(raw.get("reason", "")),
            message=str(raw.get("message", "")),
            delay_ms=float(raw.get("delay_ms", 0)),
            truncate=mode,
            gone_on_page=int(raw["gone_on_page"]) if raw.get("gone_on_page") is not None else None,
            times=int(raw["times"]) if raw.get("times") is not None else None,
        )
        if fault.status is None and not fault.delay_ms and not fault.truncate and fault.gone_on_page is None:
            raise ValueError(f"fault {raw!r} does nothing: give status, delay_ms, truncate or gone_on_page")
        return fault

    def as_dict(self) -> Json:
        out: Json = {"route": self.route}
        for key in ("status", "reason", "message", "delay_ms", "gone_on_page", "times"):
            value = getattr(self, key)
            if value not in (None, "", 0, 0.0):
                out[key] = value
        if self.truncate:
            out["truncate"] = True if self.truncate == "chunked" else self.truncate
        return out


@dataclass
class Route:
    """A request path understood: what it addresses and its key for logs and faults."""

    key: str
    kind: str  # "discovery" | "resource" | "unknown"
    rtype: ResourceType | None = None
    namespace: str | None = None
    name: str = ""
    subresource: str = ""
    group: str = ""
    version: str = ""
    parts: tuple[str, ...] = field(default_factory=tuple)


def parse_route(method: str, path: str) -> Route:
    """Map a request path to its route key (names replaced by `{ns}`, `{name}`)."""
    clean = "/" + path.strip("/")
    segs = [s for s in clean.split("/") if s]
    if clean in ("/version", "/api", "/apis"):
        return Route(f"{method} {clean}", "discovery", parts=tuple(segs))
    if segs[:2] == ["api", "v1"]:
        group, version, rest, prefix = "", "v1", segs[2:], "/api/v1"
    elif segs and segs[0] == "apis" and len(segs) >= 3:
        group, version, rest, prefix = segs[1], segs[2], segs[3:], f"/apis/{segs[1]}/{segs[2]}"
    elif segs and segs[0] == "apis" and len(segs) == 2:
        return Route(f"{method} /apis/{segs[1]}", "discovery", group=segs[1], parts=tuple(segs))
    else:
        return Route(f"{method} {clean}", "unknown")
    if not rest:
        return Route(f"{method} {prefix}", "discovery", group=group, version=version, parts=tuple(segs))
    namespace: str | None = None
    if (
        rest[0] == "namespaces"
        and len(rest) >= 3
        and not (len(rest) == 3 and rest[2] in ("status", "finalize"))
    ):
        namespace, rest = rest[1], rest[2:]
    plural = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    sub = rest[2] if len(rest) > 2 else ""
    key = prefix + ("/namespaces/{ns}" if namespace is not None else "") + "/" + plural
    if name:
        key += "/{name}"
    if sub:
        key += "/" + sub
    rtype = find_type(group, plural)
    if rtype is None or rtype.version != version or len(rest) > 3:
        return Route(f"{method} {key}", "unknown", group=group, version=version)
    return Route(f"{method} {key}", "resource", rtype, namespace, name, sub, group, version)
