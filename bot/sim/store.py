"""The simulator's cluster state: typed resource kinds, stored objects, and the API's list semantics.

Everything here is synchronous and single-threaded (the aiohttp server calls it from the event
loop). What it reproduces from a real kube-apiserver:

- objects kept as their encoded JSON (`StoredObject.item`), so a 5,000-node list is a join of
  cached bytes; the decoded document is built only when a request needs it (patch, metadata-only);
- one global `resourceVersion` counter, bumped by every write;
- list order = etcd key order (namespace, then name);
- `labelSelector` (`=`, `==`, `!=`, `in`, `notin`, `key`, `!key`, `>`/`<`) and `fieldSelector`
  (`=`, `==`, `!=`) with the per-kind field labels a real apiserver accepts; others answer 400;
- paging with `limit`/`continue`: the token is base64 JSON holding the list's resourceVersion, the
  last key served and the page number; a token older than the compaction point answers 410 Expired;
  `remainingItemCount` only on pages of a list without selectors (as the API documents);
- JSON merge patch (strategic merge is treated the same) and JSON patch, create, replace, delete;
- container logs per (namespace, pod, container, previous) with the apiserver's 400 answers.

Errors are `ApiError`s carrying a Kubernetes `Status` body (`status_body`).
"""

from __future__ import annotations

import base64
import binascii
import bisect
import copy
import re
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec

Json = dict[str, Any]

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


def encode(doc: Any) -> bytes:
    return _encoder.encode(doc)


def decode(data: bytes) -> Any:
    return _decoder.decode(data)


def rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- errors ---------------------------------------------------------------------------------


class ApiError(Exception):
    """An API answer that is not a success: HTTP code + the Kubernetes Status fields."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        *,
        details: Json | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def status_body(self) -> Json:
        body: Json = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        }
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
        return body


def _details(rtype: ResourceType, name: str = "") -> Json:
    details: Json = {}
    if name:
        details["name"] = name
    if rtype.group:
        details["group"] = rtype.group
    details["kind"] = rtype.plural
    return details


def not_found(rtype: ResourceType, name: str) -> ApiError:
    return ApiError(
        404, "NotFound", f'{rtype.resource_label} "{name}" not found', details=_details(rtype, name)
    )


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def resource_not_served() -> ApiError:
    """What an apiserver answers for a group/resource it does not serve (CRD not installed)."""
    return ApiError(404, "NotFound", "the server could not find the requested resource", details={})


EXPIRED_MESSAGE = (
    "The provided continue parameter is too old to display a consistent list result. "
    "You can start a new list without the continue parameter."
)


def expired() -> ApiError:
    return ApiError(410, "Expired", EXPIRED_MESSAGE)


# --- resource kinds -------------------------------------------------------------------------

_POD_FIELDS = frozenset(
    {
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "spec.hostNetwork",
        "status.phase",
        "status.podIP",
        "status.nominatedNodeName",
    }
)
_EVENT_FIELDS = frozenset(
    {
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    }
)
ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class ResourceType:
    """One kind of object the simulated API serves (a row of discovery)."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    singular: str = ""
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    builtin: bool = True
    """Built-in kinds are listed without kind/apiVersion on items, as kube-apiserver does; CRDs with."""
    field_labels: frozenset[str] = frozenset()
    subresources: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def resource_label(self) -> str:
        """How Status messages name the resource: `pods`, `nodes.crd.projectcalico.org`."""
        return self.key

    @property
    def list_kind(self) -> str:
        return self.kind + "List"


def _core(plural: str, kind: str, namespaced: bool, **kw: Any) -> ResourceType:
    return ResourceType("", "v1", plural, kind, namespaced, singular=kind.lower(), **kw)


def _grp(group: str, plural: str, kind: str, namespaced: bool, **kw: Any) -> ResourceType:
    return ResourceType(group, "v1", plural, kind, namespaced, singular=kind.lower(), **kw)


def _crd(group: str, plural: str, kind: str, namespaced: bool = False, **kw: Any) -> ResourceType:
    return ResourceType(group, "v1", plural, kind, namespaced, singular=kind.lower(), builtin=False, **kw)


CALICO_GROUP = "crd.projectcalico.org"
OPERATOR_GROUP = "operator.tigera.io"

RESOURCE_TYPES: tuple[ResourceType, ...] = (
    _core(
        "namespaces",
        "Namespace",
        False,
        short_names=("ns",),
        field_labels=frozenset({"status.phase"}),
        subresources=("status", "finalize"),
    ),
    _core(
        "nodes",
        "Node",
        False,
        short_names=("no",),
        field_labels=frozenset({"spec.unschedulable"}),
        subresources=("status", "proxy"),
    ),
    _core(
        "pods",
        "Pod",
        True,
        short_names=("po",),
        field_labels=_POD_FIELDS,
        subresources=("log", "status", "eviction", "exec", "binding", "ephemeralcontainers"),
    ),
    _core("events", "Event", True, short_names=("ev",), field_labels=_EVENT_FIELDS),
    _core("secrets", "Secret", True, field_labels=frozenset({"type"})),
    _core("configmaps", "ConfigMap", True, short_names=("cm",)),
    _core("services", "Service", True, short_names=("svc",), subresources=("status", "proxy")),
    _core("endpoints", "Endpoints", True, short_names=("ep",)),
    _core("serviceaccounts", "ServiceAccount", True, short_names=("sa",)),
    _core(
        "replicationcontrollers",
        "ReplicationController",
        True,
        short_names=("rc",),
        subresources=("status", "scale"),
    ),
    _grp("apps", "daemonsets", "DaemonSet", True, short_names=("ds",), subresources=("status",)),
    _grp(
        "apps", "deployments", "Deployment", True, short_names=("deploy",), subresources=("status", "scale")
    ),
    _grp("apps", "replicasets", "ReplicaSet", True, short_names=("rs",), subresources=("status", "scale")),
    _grp("coordination.k8s.io", "leases", "Lease", True),
    _grp(
        "admissionregistration.k8s.io",
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
        False,
    ),
    _grp(
        "admissionregistration.k8s.io", "mutatingwebhookconfigurations", "MutatingWebhookConfiguration", False
    ),
    _grp("rbac.authorization.k8s.io", "roles", "Role", True),
    _grp("rbac.authorization.k8s.io", "rolebindings", "RoleBinding", True),
    _grp("rbac.authorization.k8s.io", "clusterroles", "ClusterRole", False),
    _grp("rbac.authorization.k8s.io", "clusterrolebindings", "ClusterRoleBinding", False),
    _crd(CALICO_GROUP, "bgpconfigurations", "BGPConfiguration"),
    _crd(CALICO_GROUP, "bgppeers", "BGPPeer"),
    _crd(CALICO_GROUP, "ippools", "IPPool"),
    _crd(CALICO_GROUP, "felixconfigurations", "FelixConfiguration"),
    _crd(CALICO_GROUP, "clusterinformations", "ClusterInformation"),
    _crd(CALICO_GROUP, "nodes", "Node"),
    _crd(CALICO_GROUP, "hostendpoints", "HostEndpoint"),
    _crd(CALICO_GROUP, "globalnetworkpolicies", "GlobalNetworkPolicy"),
    _crd(CALICO_GROUP, "networkpolicies", "NetworkPolicy", namespaced=True),
    _crd(CALICO_GROUP, "ipamblocks", "IPAMBlock"),
    _crd(CALICO_GROUP, "blockaffinities", "BlockAffinity"),
    _crd(OPERATOR_GROUP, "installations", "Installation", subresources=("status",)),
    _crd(OPERATOR_GROUP, "tigerastatuses", "TigeraStatus", subresources=("status",)),
    _crd(OPERATOR_GROUP, "apiservers", "APIServer", subresources=("status",)),
)

CORE_GROUP_ORDER = (
    "",
    "apps",
    "coordination.k8s.io",
    "admissionregistration.k8s.io",
    "rbac.authorization.k8s.io",
    CALICO_GROUP,
    OPERATOR_GROUP,
)


def find_type(group: str, plural: str) -> ResourceType | None:
    for rtype in RESOURCE_TYPES:
        if rtype.group == group and rtype.plural == plural:
            return rtype
    return None


def type_for_object(api_version: str, kind: str) -> ResourceType | None:
    """The resource type of a raw object by its apiVersion and kind."""
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    for rtype in RESOURCE_TYPES:
        if rtype.group == group and rtype.kind == kind:
            return rtype
    return None


def type_for_kind(kind: str, api_version: str = "") -> ResourceType | None:
    """By kind alone (the first built-in match; Calico's `Node` needs its apiVersion)."""
    if api_version:
        return type_for_object(api_version, kind)
    for rtype in RESOURCE_TYPES:
        if rtype.kind == kind:
            return rtype
    return None


# --- selectors ------------------------------------------------------------------------------

_LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_SET_REQ = re.compile(r"^\s*(\S+?)\s+(in|notin)\s*\((.*)\)\s*$")
_CMP_REQ = re.compile(r"^\s*([^\s!=<>]+)\s*(==|!=|=|>|<)\s*(\S*)\s*$")


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # in, notin, =, !=, exists, !, gt, lt
    values: frozenset[str] = frozenset()

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        match self.op:
            case "exists":
                return present
            case "!":
                return not present
            case "=" | "in":
                return present and value in self.values
            case "!=" | "notin":
                return not present or value not in self.values
            case "gt" | "lt":
                if not present or value is None:
                    return False
                try:
                    have, want = int(value), int(next(iter(self.values)))
                except ValueError:
                    return False
                return have > want if self.op == "gt" else have < want
        return False


def _split_top(selector: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(selector):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(selector[start:i])
            start = i + 1
    parts.append(selector[start:])
    return parts


def _check_key(key: str, raw: str) -> None:
    if not _LABEL_KEY.match(key) or len(key.rsplit("/", 1)[-1]) > 63:
        raise bad_request(f"unable to parse requirement: {raw.strip()!r}: invalid label key {key!r}")


def _check_value(value: str, raw: str) -> None:
    if len(value) > 63 or not _LABEL_VALUE.match(value):
        raise bad_request(f"unable to parse requirement: {raw.strip()!r}: invalid label value {value!r}")


def parse_label_selector(selector: str) -> tuple[Requirement, ...]:
    """Parse a `labelSelector` query value; raises ApiError 400 when it does not parse."""
    if not selector.strip():
        return ()
    reqs: list[Requirement] = []
    for raw in _split_top(selector):
        text = raw.strip()
        if not text:
            raise bad_request(f"unable to parse requirement: found '', expected: identifier in {selector!r}")
        if m := _SET_REQ.match(text):
            key, op, inner = m.group(1), m.group(2), m.group(3)
            _check_key(key, raw)
            values = [v.strip() for v in inner.split(",")]
            if op == "in" and values == [""]:
                raise bad_request(
                    f"unable to parse requirement: {text!r}: for 'in', 'notin' operators, "
                    "values set can't be empty"
                )
            for value in values:
                _check_value(value, raw)
            reqs.append(Requirement(key, op, frozenset(values)))
        elif text.startswith("!"):
            key = text[1:].strip()
            _check_key(key, raw)
            reqs.append(Requirement(key, "!"))
        elif m := _CMP_REQ.match(text):
            key, op, value = m.group(1), m.group(2), m.group(3)
            _check_key(key, raw)
            if op in (">", "<"):
                if not value.lstrip("-").isdigit():
                    raise bad_request(
                        f"unable to parse requirement: {text!r}: for 'Gt', 'Lt' operators, "
                        "the value must be an integer"
                    )
                reqs.append(Requirement(key, "gt" if op == ">" else "lt", frozenset({value})))
                continue
            _check_value(value, raw)
            reqs.append(Requirement(key, "!=" if op == "!=" else "=", frozenset({value})))
        elif re.fullmatch(r"\S+", text):
            _check_key(text, raw)
            reqs.append(Requirement(text, "exists"))
        else:
            raise bad_request(
                f"unable to parse requirement: {text!r}: found unexpected token in {selector!r}"
            )
    return tuple(reqs)


@dataclass(frozen=True)
class FieldTerm:
    field: str
    value: str
    negate: bool


_FIELD_UNESCAPE = re.compile(r"\\(.)")


def parse_field_selector(selector: str, rtype: ResourceType) -> tuple[FieldTerm, ...]:
    """Parse a `fieldSelector`; a field this kind does not index answers 400, as an apiserver does."""
    if not selector.strip():
        return ()
    terms: list[FieldTerm] = []
    for raw in re.split(r"(?<!\\),", selector):
        text = raw.strip()
        m = re.match(r"^([^=!\s]+)\s*(==|!=|=)(.*)$", text)
        if not m:
            raise bad_request(f"invalid selector: '{selector}'; can't understand '{text}'")
        name, op, value = m.group(1), m.group(2), _FIELD_UNESCAPE.sub(r"\1", m.group(3).strip())
        if name not in ("metadata.name", "metadata.namespace") and name not in rtype.field_labels:
            raise bad_request(f"field label not supported: {name}")
        terms.append(FieldTerm(name, value, op == "!="))
    return tuple(terms)


def _field_value(doc: Json, name: str) -> str:
    if name == "source":
        return str((doc.get("source") or {}).get("component", ""))
    cur: Any = doc
    for part in name.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(part)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


# --- stored objects -------------------------------------------------------------------------


class _IndexMeta(msgspec.Struct, frozen=True):
    labels: dict[str, str] = {}


class _IndexDoc(msgspec.Struct, frozen=True):
    metadata: _IndexMeta = _IndexMeta()


_index_decoder = msgspec.json.Decoder(_IndexDoc)


class StoredObject:
    """One object as stored: its list-item JSON, plus lazily decoded labels and fields."""

    __slots__ = ("_fields", "_labels", "item", "name", "namespace", "rtype")

    def __init__(self, rtype: ResourceType, namespace: str, name: str, item: bytes) -> None:
        self.rtype = rtype
        self.namespace = namespace
        self.name = name
        self.item = item
        self._labels: dict[str, str] | None = None
        self._fields: dict[str, str] | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)

    def doc(self) -> Json:
        """A fresh decoded copy (callers may mutate it)."""
        result: Json = decode(self.item)
        return result

    def full_bytes(self) -> bytes:
        """The object as a GET answers it: built-in kinds get their kind/apiVersion in front."""
        if not self.rtype.builtin:
            return self.item
        head = b'{"kind":"%s","apiVersion":"%s"' % (self.rtype.kind.encode(), self.rtype.api_version.encode())
        rest = self.item[1:]
        return head + (b"," + rest if rest != b"}" else b"}")

    def labels(self) -> dict[str, str]:
        if self._labels is None:
            try:
                self._labels = _index_decoder.decode(self.item).metadata.labels
            except msgspec.ValidationError:
                self._labels = dict((self.doc().get("metadata") or {}).get("labels") or {})
        return self._labels

    def field(self, name: str) -> str:
        if name == "metadata.name":
            return self.name
        if name == "metadata.namespace":
            return self.namespace
        if self._fields is None:
            doc = self.doc()
            self._fields = {f: _field_value(doc, f) for f in self.rtype.field_labels}
        return self._fields.get(name, "")


# --- continue tokens ------------------------------------------------------------------------


@dataclass(frozen=True)
class ContinueToken:
    rv: int
    start: tuple[str, str]  # the last key served
    page: int  # the page number the token asks for (2 for the second page)

    def encode(self) -> str:
        raw = encode(
            {
                "v": "meta.k8s.io/v1",
                "rv": self.rv,
                "ns": self.start[0],
                "name": self.start[1],
                "page": self.page,
            }
        )
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def parse(cls, token: str) -> ContinueToken:
        try:
            padded = token + "=" * (-len(token) % 4)
            raw = decode(base64.urlsafe_b64decode(padded.encode()))
            return cls(
                rv=int(raw["rv"]), start=(str(raw["ns"]), str(raw["name"])), page=int(raw.get("page", 2))
            )
        except (binascii.Error, msgspec.DecodeError, KeyError, TypeError, ValueError):
            raise bad_request(
                "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"
            ) from None


def page_of(token: str) -> int:
    """The page a request asks for: 1 without a token; 0 when the token does not parse."""
    if not token:
        return 1
    try:
        return ContinueToken.parse(token).page
    except ApiError:
        return 0


@dataclass
class ListResult:
    rtype: ResourceType
    items: list[StoredObject]
    resource_version: str
    continue_token: str = ""
    remaining: int | None = None


# --- logs -----------------------------------------------------------------------------------


LogSource = Callable[[str, str, str, bool], str | None]
"""(namespace, pod, container, previous) -> log text, or None when there is none."""


# --- merge / json patch ---------------------------------------------------------------------


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: dicts merge, `null` deletes, anything else (lists too) replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise bad_request(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def json_patch(doc: Json, ops: Any) -> Json:
    """RFC 6902 JSON patch (add, remove, replace, test, move, copy)."""
    if not isinstance(ops, list):
        raise bad_request("json patch must be a list of operations")
    result: Any = copy.deepcopy(doc)

    def parent_of(parts: list[str]) -> tuple[Any, str]:
        cur = result
        for part in parts[:-1]:
            cur = cur[int(part)] if isinstance(cur, list) else cur[part]
        return cur, parts[-1]

    def get(parts: list[str]) -> Any:
        cur = result
        for part in parts:
            cur = cur[int(part)] if isinstance(cur, list) else cur[part]
        return cur

    try:
        for op in ops:
            kind, parts = op["op"], _pointer(op["path"])
            if kind == "test":
                if get(parts) != op["value"]:
                    raise ApiError(422, "Invalid", f"the test operation failed at {op['path']}")
                continue
            if kind in ("move", "copy"):
                value = copy.deepcopy(get(_pointer(op["from"])))
                if kind == "move":
                    src_parent, src_key = parent_of(_pointer(op["from"]))
                    del src_parent[int(src_key) if isinstance(src_parent, list) else src_key]
                kind, op = "add", {"value": value}
            parent, last = parent_of(parts)
            if kind == "add":
                if isinstance(parent, list):
                    parent.insert(len(parent) if last == "-" else int(last), copy.deepcopy(op["value"]))
                else:
                    parent[last] = copy.deepcopy(op["value"])
            elif kind == "remove":
                del parent[int(last) if isinstance(parent, list) else last]
            elif kind == "replace":
                if isinstance(parent, list):
                    parent[int(last)] = copy.deepcopy(op["value"])
                else:
                    if last not in parent:
                        raise KeyError(last)
                    parent[last] = copy.deepcopy(op["value"])
            else:
                raise bad_request(f"unknown json patch operation {kind!r}")
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        raise ApiError(422, "Invalid", f"the json patch could not be applied: {exc!r}") from None
    if not isinstance(result, dict):
        raise ApiError(422, "Invalid", "the json patch did not produce an object")
    return result


# --- the store ------------------------------------------------------------------------------

ChangeListener = Callable[[str, StoredObject], None]
"""(event: ADDED|MODIFIED|DELETED, object) — called after every write through the API methods."""

HISTORY = 20_000
"""Changes kept for watches (a watch from an older resourceVersion answers 410 Expired): minutes of a
5,000-worker cluster's heartbeats, at most ~30 MB of superseded objects."""


@dataclass(frozen=True)
class Change:
    """One write as a watch reports it: the resourceVersion it made, its type, the object after it
    (before it, for DELETED)."""

    rv: int
    type: str  # ADDED | MODIFIED | DELETED
    obj: StoredObject


@dataclass
class Store:
    """All objects of one simulated cluster, per resource type, with the list/get/write semantics."""

    now: Callable[[], datetime]
    resource_version: int = 48_213_000
    compaction_window: int = 1_000_000
    """Continue tokens more than this many writes old have been compacted away (410). A moving
    clock writes every lease every 10 s, so this is generous (etcd keeps five minutes)."""
    compacted_rv: int = 0
    absent_groups: set[str] = field(default_factory=set)
    _objects: dict[str, dict[tuple[str, str], StoredObject]] = field(default_factory=dict)
    _sorted: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    listeners: list[ChangeListener] = field(default_factory=list)
    log_source: LogSource | None = None
    logs: dict[tuple[str, str, str, bool], str] = field(default_factory=dict)
    previous_logs_known_only: bool = False
    """A previous log that was never set answers the kubelet's "not found" (a served dump has none)."""
    history: deque[Change] = field(default_factory=lambda: deque(maxlen=HISTORY))
    """Every write after the cluster was built, oldest first (for watches)."""
    wakers: list[Callable[[], None]] = field(default_factory=list)
    """Called after each change is recorded (a watch waiting for news)."""

    # --- types -----------------------------------------------------------------------------

    def served(self, rtype: ResourceType) -> bool:
        return rtype.group not in self.absent_groups

    def served_types(self) -> list[ResourceType]:
        return [r for r in RESOURCE_TYPES if self.served(r)]

    def served_groups(self) -> list[str]:
        groups = {r.group for r in self.served_types()}
        return [g for g in CORE_GROUP_ORDER if g in groups]

    # --- raw access ------------------------------------------------------------------------

    def next_rv(self) -> int:
        self.resource_version += 1
        return self.resource_version

    def put_raw(self, rtype: ResourceType, namespace: str, name: str, item: bytes) -> StoredObject:
        """Insert/replace already-encoded JSON as is (generation path: no rv bump, no listeners)."""
        bucket = self._objects.setdefault(rtype.key, {})
        if (namespace, name) not in bucket:
            self._sorted.pop(rtype.key, None)
        obj = StoredObject(rtype, namespace, name, item)
        bucket[(namespace, name)] = obj
        return obj

    def put(self, doc: Json, *, rtype: ResourceType | None = None, bump: bool = True) -> StoredObject:
        """Insert/replace a document; stamps a new resourceVersion unless `bump` is False."""
        if rtype is None:
            rtype = type_for_object(str(doc.get("apiVersion", "")), str(doc.get("kind", "")))
            if rtype is None:
                raise ValueError(f"unknown kind {doc.get('apiVersion')}/{doc.get('kind')}")
        meta = doc.setdefault("metadata", {})
        name = str(meta.get("name", ""))
        namespace = str(meta.get("namespace", "")) if rtype.namespaced else ""
        if not name:
            raise ValueError(f"{rtype.kind} without metadata.name")
        if rtype.namespaced and not namespace:
            raise ValueError(f"{rtype.kind} {name} without metadata.namespace")
        if bump or not meta.get("resourceVersion"):
            meta["resourceVersion"] = str(self.next_rv())
        existed = self.find(rtype, namespace, name) is not None
        obj = self.put_raw(rtype, namespace, name, encode(self._item_doc(rtype, doc)))
        if bump:
            self._record("MODIFIED" if existed else "ADDED", obj)
        return obj

    def _record(self, kind: str, obj: StoredObject) -> None:
        self.history.append(Change(self.resource_version, kind, obj))
        for wake in list(self.wakers):
            wake()

    def changes_since(self, rv: int) -> list[Change] | None:
        """The changes after `rv`, oldest first; None when they are no longer all known (410)."""
        if rv < self.compacted_rv:
            return None
        history = self.history
        if history and len(history) == history.maxlen and rv < history[0].rv - 1:
            return None
        newer: list[Change] = []
        for change in reversed(history):
            if change.rv <= rv:
                break
            newer.append(change)
        newer.reverse()
        return newer

    @staticmethod
    def _item_doc(rtype: ResourceType, doc: Json) -> Json:
        if rtype.builtin:
            return {k: v for k, v in doc.items() if k not in ("kind", "apiVersion")}
        out = {"apiVersion": rtype.api_version, "kind": rtype.kind}
        out.update((k, v) for k, v in doc.items() if k not in ("kind", "apiVersion"))
        return out

    def remove(self, rtype: ResourceType, namespace: str, name: str) -> StoredObject | None:
        """Take an object out (a new resourceVersion, seen by watches as DELETED)."""
        obj = self._objects.get(rtype.key, {}).pop((namespace, name), None)
        if obj is not None:
            self._sorted.pop(rtype.key, None)
            self.next_rv()
            self._record("DELETED", obj)
        return obj

    def find(self, rtype: ResourceType, namespace: str, name: str) -> StoredObject | None:
        return self._objects.get(rtype.key, {}).get((namespace if rtype.namespaced else "", name))

    def objects(self, rtype: ResourceType, namespace: str | None = None) -> Iterator[StoredObject]:
        """All objects of a type in key order (optionally one namespace)."""
        bucket = self._objects.get(rtype.key, {})
        keys = self._keys(rtype)
        if namespace is None or not rtype.namespaced:
            for key in keys:
                yield bucket[key]
            return
        start = bisect.bisect_left(keys, (namespace, ""))
        for key in keys[start:]:
            if key[0] != namespace:
                break
            yield bucket[key]

    def count(self, rtype: ResourceType) -> int:
        return len(self._objects.get(rtype.key, {}))

    def _keys(self, rtype: ResourceType) -> list[tuple[str, str]]:
        keys = self._sorted.get(rtype.key)
        if keys is None:
            keys = self._sorted[rtype.key] = sorted(self._objects.get(rtype.key, {}))
        return keys

    # --- API semantics ---------------------------------------------------------------------

    def compact(self) -> None:
        """Forget every revision before now: outstanding continue tokens answer 410."""
        self.compacted_rv = self.resource_version + 1

    def _check_served(self, rtype: ResourceType) -> None:
        if not self.served(rtype):
            raise resource_not_served()

    def list(
        self,
        rtype: ResourceType,
        namespace: str | None = None,
        *,
        label_selector: str = "",
        field_selector: str = "",
        limit: int = 0,
        continue_: str = "",
    ) -> ListResult:
        self._check_served(rtype)
        labels = parse_label_selector(label_selector)
        fields = parse_field_selector(field_selector, rtype)
        if limit < 0:
            raise bad_request(f"limit must be a non-negative integer, got {limit}")
        list_rv = self.resource_version
        start_after: tuple[str, str] | None = None
        page = 1
        if continue_:
            token = ContinueToken.parse(continue_)
            if token.rv < self.compacted_rv or self.resource_version - token.rv > self.compaction_window:
                raise expired()
            list_rv, start_after, page = token.rv, token.start, token.page

        bucket = self._objects.get(rtype.key, {})
        keys = self._keys(rtype)
        if namespace is not None and rtype.namespaced:
            lo = bisect.bisect_left(keys, (namespace, ""))
            hi = bisect.bisect_left(keys, (namespace + "\x00", ""))
        else:
            lo, hi = 0, len(keys)
        if start_after is not None:
            lo = max(lo, bisect.bisect_right(keys, start_after))

        def selected(obj: StoredObject) -> bool:
            if labels:
                have = obj.labels()
                if not all(req.matches(have) for req in labels):
                    return False
            return all((obj.field(term.field) == term.value) != term.negate for term in fields)

        items: list[StoredObject] = []
        next_token = ""
        remaining: int | None = None
        index = lo
        while index < hi:
            obj = bucket[keys[index]]
            index += 1
            if not selected(obj):
                continue
            items.append(obj)
            if limit and len(items) == limit:
                break
        if limit and len(items) == limit:
            more = (
                any(selected(bucket[keys[i]]) for i in range(index, hi)) if (labels or fields) else index < hi
            )
            if more:
                next_token = ContinueToken(rv=list_rv, start=items[-1].key, page=page + 1).encode()
                if not labels and not fields:
                    remaining = hi - index
        return ListResult(rtype, items, str(list_rv), next_token, remaining)

    def get(self, rtype: ResourceType, namespace: str, name: str) -> StoredObject:
        self._check_served(rtype)
        obj = self.find(rtype, namespace, name)
        if obj is None:
            raise not_found(rtype, name)
        return obj

    def _notify(self, event: str, obj: StoredObject) -> None:
        for listener in list(self.listeners):
            listener(event, obj)

    def _check_namespace(self, rtype: ResourceType, namespace: str) -> None:
        if rtype.namespaced and self.find(_NAMESPACES, "", namespace) is None:
            raise not_found(_NAMESPACES, namespace)

    def create(
        self, rtype: ResourceType, namespace: str, body: Any, *, dry_run: bool = False
    ) -> StoredObject:
        self._check_served(rtype)
        if not isinstance(body, dict):
            raise bad_request("the body of the request was in an unknown format")
        doc: Json = copy.deepcopy(body)
        meta = doc.get("metadata")
        if not isinstance(meta, dict):
            meta = doc["metadata"] = {}
        if rtype.namespaced:
            given = meta.get("namespace")
            if given and given != namespace:
                raise bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = namespace
            self._check_namespace(rtype, namespace)
        else:
            meta.pop("namespace", None)
            namespace = ""
        name = meta.get("name") or ""
        if not name and meta.get("generateName"):
            name = meta["generateName"] + uuid.uuid4().hex[:5]
            meta["name"] = name
        if not name:
            raise ApiError(
                422,
                "Invalid",
                f'{rtype.kind} "" is invalid: metadata.name: Required value: name or '
                "generateName is required",
                details=_details(rtype),
            )
        if self.find(rtype, namespace, name) is not None:
            raise ApiError(
                409,
                "AlreadyExists",
                f'{rtype.resource_label} "{name}" already exists',
                details=_details(rtype, name),
            )
        for drop in ("resourceVersion", "uid", "creationTimestamp", "deletionTimestamp", "selfLink"):
            meta.pop(drop, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = rfc3339(self.now())
        if "generation" not in meta and rtype.kind not in ("Pod", "Event", "Node", "Namespace", "Secret"):
            meta["generation"] = 1
        doc["kind"], doc["apiVersion"] = rtype.kind, rtype.api_version
        if dry_run:
            meta["resourceVersion"] = ""
            return StoredObject(rtype, namespace, name, encode(self._item_doc(rtype, doc)))
        obj = self.put(doc, rtype=rtype)
        self._notify("ADDED", obj)
        return obj

    def replace(self, rtype: ResourceType, namespace: str, name: str, body: Any) -> StoredObject:
        current = self.get(rtype, namespace, name)
        if not isinstance(body, dict):
            raise bad_request("the body of the request was in an unknown format")
        doc: Json = copy.deepcopy(body)
        meta = doc.setdefault("metadata", {})
        if meta.get("name", name) != name:
            raise bad_request("the name of the object does not match the name on the URL")
        old = current.doc()["metadata"]
        self._check_precondition(rtype, name, meta.get("resourceVersion"), old.get("resourceVersion"))
        for keep in ("uid", "creationTimestamp"):
            if keep in old:
                meta[keep] = old[keep]
        meta["name"] = name
        if rtype.namespaced:
            meta["namespace"] = namespace
        obj = self.put(doc, rtype=rtype)
        self._notify("MODIFIED", obj)
        return obj

    @staticmethod
    def _check_precondition(rtype: ResourceType, name: str, wanted: Any, actual: Any) -> None:
        if wanted and str(wanted) != str(actual):
            raise ApiError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {rtype.resource_label} "{name}": the object has been modified; '
                "please apply your changes to the latest version and try again",
                details=_details(rtype, name),
            )

    def patch(
        self, rtype: ResourceType, namespace: str, name: str, patch: Any, content_type: str
    ) -> StoredObject:
        current = self.get(rtype, namespace, name)
        doc = current.doc()
        ctype = content_type.split(";")[0].strip().lower()
        if ctype in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
            if not isinstance(patch, dict):
                raise bad_request("the body of the request was in an unknown format")
            wanted = (
                (patch.get("metadata") or {}).get("resourceVersion")
                if isinstance(patch.get("metadata"), dict)
                else None
            )
            self._check_precondition(rtype, name, wanted, doc["metadata"].get("resourceVersion"))
            new = merge_patch(doc, patch)
        elif ctype == "application/json-patch+json":
            new = json_patch(doc, patch)
        elif ctype == "application/apply-patch+yaml":
            raise ApiError(415, "UnsupportedMediaType", "the simulator does not implement server-side apply")
        else:
            raise ApiError(
                415,
                "UnsupportedMediaType",
                f"the body of the request was in an unknown format - "
                f"accepted media types include: application/json-patch+json, application/merge-patch+json, "
                f"application/apply-patch+yaml (got {content_type!r})",
            )
        meta = new.setdefault("metadata", {})
        meta["name"], meta["uid"] = name, doc["metadata"].get("uid")
        if rtype.namespaced:
            meta["namespace"] = namespace
        if new.get("spec") != doc.get("spec") and "generation" in doc["metadata"]:
            meta["generation"] = int(doc["metadata"]["generation"]) + 1
        obj = self.put(new, rtype=rtype)
        self._notify("MODIFIED", obj)
        return obj

    def delete(self, rtype: ResourceType, namespace: str, name: str) -> StoredObject:
        current = self.get(rtype, namespace, name)
        self.remove(rtype, current.namespace, name)
        self._notify("DELETED", current)
        return current

    # --- logs ------------------------------------------------------------------------------

    def set_log(self, namespace: str, pod: str, container: str, text: str, *, previous: bool = False) -> None:
        self.logs[(namespace, pod, container, previous)] = text

    def log_text(self, namespace: str, pod: str, container: str, previous: bool) -> str:
        text = self.logs.get((namespace, pod, container, previous))
        if text is None and self.log_source is not None:
            text = self.log_source(namespace, pod, container, previous)
        return text or ""

    def last_run_log(self, namespace: str, pod: str, container: str) -> str:
        """The log of a container's last terminated run: what was set as its log (the run that just
        crashed), else what was set as its previous log."""
        for previous in (False, True):
            text = self.logs.get((namespace, pod, container, previous))
            if text is not None:
                return text
        return self.log_text(namespace, pod, container, False)

    def read_log(
        self,
        namespace: str,
        pod_name: str,
        *,
        container: str = "",
        previous: bool = False,
        tail_lines: int | None = None,
        limit_bytes: int | None = None,
    ) -> str:
        """`GET …/pods/{name}/log`: the text, or the apiserver's 400/404 for a wrong request."""
        pod = self.get(_PODS, namespace, pod_name).doc()
        spec, status = pod.get("spec") or {}, pod.get("status") or {}
        main = [c["name"] for c in spec.get("containers") or []]
        init = [c["name"] for c in spec.get("initContainers") or []]
        if not container:
            if len(main) != 1:
                choice = f"a container name must be specified for pod {pod_name}, choose one of: [{' '.join(main)}]"
                if init:
                    choice += f" or one of the init containers: [{' '.join(init)}]"
                raise bad_request(choice)
            container = main[0]
        if container not in main and container not in init:
            raise bad_request(f'container "{container}" is not valid for pod "{pod_name}"')
        statuses = [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]
        cstatus = next((s for s in statuses if s.get("name") == container), None) or {}
        restarts = int(cstatus.get("restartCount") or 0)
        state = cstatus.get("state") or {}
        last_run = bool((cstatus.get("lastState") or {}).get("terminated"))
        # The kubelet's `validateContainerLogStatus`: `previous` is the lastState container; a
        # container waiting to restart (CrashLoopBackOff) has no instance of its own, so its current
        # log is that same last terminated run: during a crash loop both answer the run that crashed.
        if previous and restarts == 0 and not last_run:
            raise bad_request(f'previous terminated container "{container}" in pod "{pod_name}" not found')
        if "waiting" in state and last_run:
            text = self.last_run_log(namespace, pod_name, container)
        elif previous:
            known = (namespace, pod_name, container, True) in self.logs
            if self.previous_logs_known_only and not known:
                raise bad_request(
                    f'previous terminated container "{container}" in pod "{pod_name}" not found'
                )
            text = self.log_text(namespace, pod_name, container, True)
        elif "waiting" in state:
            reason = state["waiting"].get("reason") or "ContainerCreating"
            raise bad_request(f'container "{container}" in pod "{pod_name}" is waiting to start: {reason}')
        elif not cstatus and status.get("phase") == "Pending":
            raise bad_request(
                f'container "{container}" in pod "{pod_name}" is waiting to start: PodInitializing'
            )
        else:
            text = self.log_text(namespace, pod_name, container, False)
        if tail_lines is not None:
            if tail_lines <= 0:
                text = ""
            else:
                lines = text.splitlines(keepends=True)
                text = "".join(lines[-tail_lines:])
        if limit_bytes is not None and limit_bytes > 0:
            text = text.encode()[:limit_bytes].decode("utf-8", "ignore")
        return text

    # --- bulk helpers ----------------------------------------------------------------------

    def iter_all(self) -> Iterable[StoredObject]:
        for bucket in self._objects.values():
            yield from bucket.values()


_NAMESPACES = next(r for r in RESOURCE_TYPES if r.plural == "namespaces")
_PODS = next(r for r in RESOURCE_TYPES if r.plural == "pods")
