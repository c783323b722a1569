"""What Kubernetes RBAC sees of a request: the verb, API group, resource (with its subresource),
namespace and object name the API server's authorizer checks, derived from the HTTP method, path and
query the way kube-apiserver's RequestInfo does for the paths calico-bot calls.

`read_plan_accesses()` is the collector's read plan seen this way; deploy/base/rbac.yaml is checked
against it and against every request the gather, action and verification code makes
(tests/test_rbac.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote

from bot.cluster.collect import ListCall, read_plan

_WRITE_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch"}


@dataclass(frozen=True, order=True)
class Access:
    verb: str
    group: str
    resource: str
    """The plural, with the subresource after a slash: `pods/log`."""
    namespace: str = ""
    """Empty for a cluster-scoped object or a list across all namespaces."""
    name: str = ""
    """Empty for a list, a watch or a create: the request names no object."""

    def describe(self) -> str:
        where = f"in namespace {self.namespace}" if self.namespace else "cluster-wide"
        group = self.group or "core"
        named = f" {self.name!r}" if self.name else ""
        return f"{self.verb} {self.resource}{named} ({group}) {where}"


def access_of(method: str, path: str, params: Sequence[tuple[str, str]] = ()) -> Access:
    """The authorizer's view of one request; ValueError for a path that is not a resource path."""
    parts = [unquote(p) for p in path.split("?")[0].strip("/").split("/")]
    if parts[:2] == ["api", "v1"]:
        group, rest = "", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, rest = parts[1], parts[3:]
    else:
        raise ValueError(f"not a Kubernetes resource path: {path}")
    namespace = ""
    if len(rest) >= 2 and rest[0] == "namespaces":
        namespace = rest[1]
        if len(rest) > 2:
            rest = rest[2:]  # /namespaces/NS/RESOURCE…; /namespaces/NS itself is the namespace object
    if not rest or len(rest) > 3:
        raise ValueError(f"not a Kubernetes resource path: {path}")
    resource, name = rest[0], rest[1] if len(rest) > 1 else ""
    if len(rest) == 3:
        resource += "/" + rest[2]
    query = dict(params)
    if method == "GET":
        verb = "get" if name else ("watch" if query.get("watch") in ("true", "1") else "list")
    elif method == "DELETE":
        verb = "delete" if name else "deletecollection"
    elif method in _WRITE_VERBS:
        verb = _WRITE_VERBS[method]
    else:
        raise ValueError(f"no RBAC verb for HTTP {method}")
    if verb in ("list", "watch") and not name:
        name = _name_from_field_selector(query.get("fieldSelector", ""))
    return Access(verb, group, resource, namespace, name)


def _name_from_field_selector(selector: str) -> str:
    """A list or watch limited by `metadata.name=X` is authorized as a request naming X (RequestInfo
    takes the name from an exact-match field selector, which is what lets `resourceNames` apply)."""
    for term in selector.split(","):
        key, _, value = term.partition("=")
        if key.strip() == "metadata.name":
            return value.removeprefix("=").strip()
    return ""


def read_plan_accesses() -> tuple[Access, ...]:
    """The collector's fixed reads (`bot.cluster.collect.read_plan`) as the authorizer sees them."""
    return tuple(
        access_of("GET", call.path, call.params if isinstance(call, ListCall) else ()) for call in read_plan()
    )
