"""Load `kubectl cluster-info dump` output into a Snapshot (`calico-bot check --from-dump PATH`).

Accepted: the directory written by `--output-directory`, the stdout stream saved to one file
(JSON or `-o yaml`, also as PowerShell writes it: UTF-16), a `.tar`/`.tar.gz`/`.tgz` of either
(read in memory, never extracted), a gzip of the stream, and anywhere in the tree other
`*.json`/`*.yaml`/`*.yml` files holding Kubernetes objects or Lists (`kubectl get … -o yaml`,
several `---` documents allowed). Every document goes through `SnapshotBuilder.add_document`,
which routes it by kind; a corrupt, foreign or unreadable file becomes one line in
`DumpResult.problems` and the rest still loads. Container logs come from the START/END blocks
(`logs.txt`, or inline in the stream), from `<ns>/<pod>/<container>.log` files and from the files
the runbook's gather step writes (`<pod>.log`, `<pod>-cni.log`, `<pod>-ext.log`); only logs of
pods the builder kept are kept, each cut to its last 2,000 lines / 1 MiB.

What kubectl writes — verified in kubernetes/kubectl `pkg/cmd/clusterinfo/clusterinfo_dump.go`
(master dee3483, 2026-07) and kubernetes/cli-runtime `pkg/printers` (master 69e8693, 2026-06):

* Order (`Run`, l.173-307): nodes first (l.174-191); then per namespace — as given with
  `--namespaces`, every namespace of the API's list with `--all-namespaces`, else `kube-system`
  and the kubeconfig's current namespace (l.193-211) — events, replication-controllers, services,
  daemonsets, deployments, replicasets, pods (l.215-270); then for each pod the logs of its init
  containers followed by its containers (l.294-306; init containers since commit d23f519, 2020).
* `--output-directory DIR` (`setupOutputWriter`, l.118-132): `DIR/nodes.<ext>`,
  `DIR/<ns>/<resource>.<ext>` (resource names as above) and `DIR/<ns>/<pod>/logs.txt`, files 0600
  in 0700 directories (since bb2ce5a). `<ext>` is `.json` for `-o json`, the default (l.69),
  `.yaml` for `-o yaml`, `.txt` otherwise (l.179-187); logs.txt always `.txt` (l.298). Without the
  flag (or with `-`) the same output goes to stdout, one document after another, logs inline.
  Before e7018f8 (2019) the files were always `*.json`; before 4f87593 (2020) a stdout dump ended
  with the line `Cluster info dumped to standard output` (ignored here).
* Log block (`printContainer`, l.272-292): the line
  `==== START logs for container C of pod NS/POD ====`, the container's log exactly as the API
  returned it (`PodLogOptions{Container: C}`, l.276: current instance only, never `previous`, no
  tail limit, no timestamps), then `==== END logs for container C of pod NS/POD ====` and a
  newline (deferred, l.274). The END marker follows the log bytes directly, so a log that does not
  end with a newline has the marker glued to its last line. A log that cannot be read holds one
  line `Create log request error: …` or `Request log error: …` (l.279, l.287), kept as the text.
* JSON (`JSONPrinter.PrintObj`, `json.go` l.73-79): `json.MarshalIndent(obj, "", "    ")` plus a
  newline, so each document opens with a line `{` and closes with a line `}` at column 0 (nothing
  else is at column 0). The printer is wrapped in a TypeSetter (clusterinfo_dump.go l.69,
  `typesetter.go` l.41-71) that sets `kind`/`apiVersion` on the List (`NodeList`/`v1`,
  `DaemonSetList`/`apps/v1`); the items have none (typed client lists), so an item's kind comes
  from its List.
* YAML (`YAMLPrinter.PrintObj`, `yaml.go` l.49-54): `---` before every object but the first the
  printer printed. cluster-info dump uses one printer for the whole run (l.140), so in a
  directory dump every file except nodes.yaml starts with `---`.

Decisions of this loader:
* Documents are handed to the builder in one canonical order (nodes, then the seven per-namespace
  files by namespace name in kubectl's file order, then anything else by path), so the directory,
  the stream and the archive of one dump give equal snapshots whatever `--namespaces` order was
  used. Namespaces of stream documents are inferred from their items and log markers.
* `Snapshot.missing`: every read no document was seen for (leases, webhooks, CRs, namespaces,
  secrets, RBAC in a plain dump); node events count as read when the `default` events list is in
  the dump, Calico events when the `kube-system` or `calico-system` list is, logs when any log
  file/block is. The calico pods/DaemonSets/Deployments reads count as read only when the dump can
  answer "where is calico-node": it was found, or both Calico namespaces were dumped, or
  `--all-namespaces` was used (`kube-public`/`kube-node-lease` present), or the namespace the
  nodes' version implies (IKS >= 1.29 and OpenShift: `calico-system`) was dumped. Otherwise a
  default dump (`kube-system` + `default`) of a 1.29 cluster would read as "calico absent
  everywhere".
* `extras/` (what `scripts/collect-dump` and `calico-bot sim --write-dump --dump-extras` add beside
  the cluster-info dump): a file there counts as its read by its name, even when kubectl wrote an
  empty `kind: List` without items (nothing to infer a read from): `extras/<plural>.json` for
  validating/mutatingwebhookconfigurations, bgpconfigurations, ippools, felixconfigurations, nodes
  (Calico's), installations, tigerastatuses, leases (kube-node-lease), namespaces, roles and
  rolebindings (bgp-secret-access), secrets (calico-bgp-password, metadata only);
  `extras/all-daemonsets.json` (every namespace: where calico-node is, or that it is nowhere) and
  `extras/sandbox-events.json` (FailedCreatePodSandBox of every namespace). `extras/apis.json`
  (`kubectl get --raw /apis`, an APIGroupList) tells "CRD not installed" from "not collected": a
  Calico or operator read whose API group the cluster does not serve is known empty, as a live 404.
* Limits: 2 GiB of dump data in total (archive members counted from their headers before any is
  read), 200,000 archive members; every file is read into memory whole.
"""

from __future__ import annotations

import codecs
import json
import lzma
import os
import re
import stat
import tarfile
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import msgspec
import yaml

from bot.cluster.assemble import SnapshotBuilder, latest_timestamp, read_and_type
from checks.objects import Node
from checks.snapshot import CALICO_NAMESPACES, ContainerLog, Read, Snapshot

try:
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # PyYAML built without libyaml
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

__all__ = [
    "MAX_DUMP_BYTES",
    "MAX_LOG_BYTES",
    "MAX_LOG_LINES",
    "DumpError",
    "DumpResult",
    "RawDump",
    "RawLog",
    "load_dump",
    "read_raw_dump",
]

MAX_LOG_LINES = 2_000
MAX_LOG_BYTES = 1 << 20
MAX_DUMP_BYTES = 2 << 30
"""Total bytes of dump data read (an archive: the sum of its members' sizes), 2 GiB."""
MAX_ARCHIVE_MEMBERS = 200_000

Form = Literal["directory", "file", "archive"]

# kubectl's per-namespace files, in the order it writes them (clusterinfo_dump.go l.215-270).
_NS_FILES = (
    "events",
    "replication-controllers",
    "services",
    "daemonsets",
    "deployments",
    "replicasets",
    "pods",
)
_NS_KINDS = ("Event", "ReplicationController", "Service", "DaemonSet", "Deployment", "ReplicaSet", "Pod")
_SCANNED_EXTS = frozenset({"json", "yaml", "yml", "txt", "log", "dump", "out", ""})
_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
_NAME_SUFFIXES = (*_TAR_SUFFIXES, ".gz", ".json", ".yaml", ".yml", ".txt", ".log", ".dump", ".out")
_JUNK_NAMES = frozenset({"__MACOSX", "Thumbs.db", "desktop.ini"})
_LOG_POD_PREFIXES = ("calico-", "canal-", "rke2-canal-", "tigera-operator-", "ibm-keepalived-watcher-")
"""Pods whose logs are decoded: Calico's workloads by their usual names (others are never kept)."""
_SCOPED = {Read.CALICO_PODS: "Pod", Read.DAEMONSETS: "DaemonSet", Read.DEPLOYMENTS: "Deployment"}
_EVENT_READS = (Read.NODE_EVENTS, Read.CALICO_EVENTS)
_ARCHIVE_ERRORS = (tarfile.TarError, OSError, EOFError, zlib.error, lzma.LZMAError)

_START = b"==== START logs for container "
_START_LINE = re.compile(rb"==== START logs for container (\S+) of pod ([^/\s]+)/(\S+) ====")
_END = b"==== END logs for container %b of pod %b/%b ===="
_NON_SPACE = re.compile(rb"\S")
_JSON_OPEN = re.compile(rb"^[\[{]", re.M)
_JSON_CLOSE = {b"{": re.compile(rb"^\}[ \t]*\r?$", re.M), b"[": re.compile(rb"^\][ \t]*\r?$", re.M)}
_JSON_OPEN_TEXT = re.compile(r"^[\[{]", re.M)
_DOC_BOUNDARY = re.compile(r"\n[}\]][ \t]*\r?\n(?=[\[{])")  # "}" line then "{" line: only between documents
_YAML_KEY = re.compile(rb"^(?:apiVersion|kind|items|metadata)[ \t]*:", re.M)
_YAML_SEP = re.compile(rb"^---[ \t]*(?:#[^\n]*)?\r?$", re.M)
_TRAILER = re.compile(rb"^Cluster info dumped to [^\n]*$", re.M)
_GATHER_LOG = re.compile(r"^((?:calico-node|ibm-keepalived-watcher)-[a-z0-9]+)(-cni|-ext)?\.log$")
_VERSION = re.compile(r"v?(\d+)\.(\d+)")
_EXTRAS_READS: dict[str, Read] = {
    "validatingwebhookconfigurations": Read.WEBHOOKS,
    "mutatingwebhookconfigurations": Read.WEBHOOKS,
    "bgpconfigurations": Read.BGP_CONFIGURATIONS,
    "ippools": Read.IP_POOLS,
    "felixconfigurations": Read.FELIX_CONFIGURATIONS,
    "nodes": Read.CALICO_NODES,  # under extras/: Calico's nodes.crd.projectcalico.org
    "installations": Read.INSTALLATIONS,
    "tigerastatuses": Read.TIGERA_STATUSES,
    "leases": Read.LEASES,
    "namespaces": Read.NAMESPACES,
    "roles": Read.BGP_RBAC,
    "rolebindings": Read.BGP_RBAC,
    "secrets": Read.BGP_SECRETS,
    "all-daemonsets": Read.DAEMONSETS,
    "sandbox-events": Read.CNI_EVENTS,
}
"""`extras/<name>.json` -> the read it is, even when kubectl wrote an empty List (module docstring)."""
_CRD_READ_GROUPS: dict[Read, str] = {
    Read.BGP_CONFIGURATIONS: "crd.projectcalico.org",
    Read.IP_POOLS: "crd.projectcalico.org",
    Read.FELIX_CONFIGURATIONS: "crd.projectcalico.org",
    Read.CALICO_NODES: "crd.projectcalico.org",
    Read.INSTALLATIONS: "operator.tigera.io",
    Read.TIGERA_STATUSES: "operator.tigera.io",
}


class DumpError(Exception):
    """The dump cannot be read at all (missing, unreadable, empty, not a dump, corrupt archive)."""

    def __init__(self, message: str) -> None:
        super().__init__(_one_line(message))


@dataclass(frozen=True, kw_only=True)
class DumpResult:
    snapshot: Snapshot
    problems: tuple[str, ...] = ()
    """One line per corrupt, foreign, skipped or unreadable file: `<path inside the dump>: <reason>`."""
    form: Form = "directory"

    @property
    def missing(self) -> tuple[str, ...]:
        """The reads the dump did not contain (same as `snapshot.missing`)."""
        return self.snapshot.missing


def load_dump(path: str | os.PathLike[str], *, cluster: str | None = None) -> DumpResult:
    """Read a cluster-info dump (directory, stream file or archive); raise DumpError if impossible."""
    root = Path(path)
    loader = _Loader(root)
    form = _read_all(loader, root)
    return loader.result(cluster or _name_of(root), form)


@dataclass(frozen=True)
class RawLog:
    """One container's current log as the dump holds it (namespace "" for a runbook gather file)."""

    namespace: str
    pod: str
    container: str
    text: str


@dataclass(frozen=True)
class RawDump:
    """Everything a dump holds, undecoded by kind: for serving it again as an API (`bot.sim.replay`)."""

    documents: tuple[tuple[dict[str, Any], str], ...]
    """(document, where) in the loader's canonical order; Lists are not split."""
    logs: tuple[RawLog, ...]
    namespaces: tuple[str, ...]
    """The namespaces the dump has per-namespace files or log blocks for."""
    problems: tuple[str, ...]
    form: Form


def read_raw_dump(path: str | os.PathLike[str]) -> RawDump:
    """The same walk and parsing as `load_dump`, keeping every Kubernetes document (whatever its kind)
    and every container log whole, for a reader that wants the dump's objects unchanged."""
    root = Path(path)
    loader = _Loader(root, raw=True)
    form = _read_all(loader, root)
    documents: list[tuple[dict[str, Any], str]] = []
    for doc in sorted(loader.docs, key=_Doc.key):
        body = doc.body
        if isinstance(body, bytes):
            try:
                body = json.loads(body)
            except ValueError as exc:
                loader.problem(f"{doc.where}: not valid JSON ({exc})")
                continue
        if isinstance(body, dict):
            documents.append((body, doc.where))
    if not any(body.get("kind") for body, _ in documents):
        first = f" — first problem: {loader.problems[0]}" if loader.problems else ""
        raise DumpError(
            f"no Kubernetes objects found in {root} (expected kubectl cluster-info dump output){first}"
        )
    namespaces = loader.dumped_namespaces | {group.namespace for group in loader.groups if group.namespace}
    namespaces |= {log.namespace for log in loader.logs if log.namespace}
    return RawDump(
        documents=tuple(documents),
        logs=tuple(RawLog(lg.namespace, lg.pod, lg.container, lg.text) for lg in loader.logs),
        namespaces=tuple(sorted(namespaces)),
        problems=tuple(dict.fromkeys(loader.problems)),
        form=form,
    )


def _read_all(loader: _Loader, root: Path) -> Form:
    """Feed the loader from a directory, a stream file or an archive; DumpError when impossible."""
    try:
        st = root.stat()
    except FileNotFoundError:
        raise DumpError(f"{root}: no such file or directory") from None
    except PermissionError:
        raise DumpError(f"{root}: permission denied") from None
    except OSError as exc:
        raise DumpError(f"{root}: cannot read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        loader.read_directory()
        return "directory"
    if not stat.S_ISREG(st.st_mode):
        raise DumpError(f"{root}: not a regular file or directory")
    if st.st_size == 0:
        raise DumpError(f"{root}: empty file")
    if _is_archive(root):
        loader.read_archive(st.st_mtime)
        return "archive"
    loader.read_file(st.st_mtime)
    return "file"


# --- what a file and a document are -----------------------------------------------------------


@dataclass(frozen=True)
class _PathInfo:
    rel: str
    namespace: str = ""  # `<ns>/<resource>.<ext>` of a directory dump
    rank: int = -1  # index in _NS_FILES
    logs: bool = False  # a logs.txt
    pod_log: tuple[str, str, str] | None = None  # (namespace or "", pod, container) of a plain log file
    extras: str = ""  # the file's name under `extras/` (its read, by name: `_EXTRAS_READS`)


@dataclass(eq=False)
class _Group:
    """The documents kubectl wrote for one namespace of a stream (events … pods, then logs)."""

    namespaces: set[str] = field(default_factory=set)
    kinds: set[str] = field(default_factory=set)

    @property
    def namespace(self) -> str:
        return next(iter(self.namespaces)) if len(self.namespaces) == 1 else ""


@dataclass(eq=False)
class _Doc:
    body: bytes | dict[str, Any]
    where: str
    seq: int
    section: int  # 0 nodes, 1 a per-namespace kubectl file, 2 anything else
    place: str  # namespace (section 1) or path
    rank: int = 0
    group: _Group | None = None

    def key(self) -> tuple[int, str, int, int]:
        place = self.place
        if self.group is not None:
            place = self.group.namespace or "\uffff"
        return (self.section, place, self.rank, self.seq)


_LOG_READ_ERROR = re.compile(r"(?:Request log error|Create log request error): (.+)", re.S)
"""The one line kubectl writes in place of a log it could not read (`printContainer`)."""
_NOTHING_TO_READ = re.compile(
    r"is waiting to start|previous terminated container .* not found|"
    r"ContainerCreating|PodInitializing|the server rejected our request|\(get pods "
)
"""Answers that mean the container has no log yet (the kubelet's 400s) — not a read that failed."""


@dataclass(frozen=True)
class _Log:
    namespace: str
    pod: str
    container: str
    text: str
    truncated: bool
    seq: int


class _MetaProbe(msgspec.Struct, frozen=True):
    namespace: str = ""


class _ItemProbe(msgspec.Struct, frozen=True, rename="camel"):
    kind: str = ""
    api_version: str = ""
    metadata: _MetaProbe = _MetaProbe()


class _DocProbe(msgspec.Struct, frozen=True, rename="camel"):
    kind: str = ""
    api_version: str = ""
    metadata: _MetaProbe = _MetaProbe()
    items: list[_ItemProbe] | None = None


_PROBE = msgspec.json.Decoder(_DocProbe)


class _YamlLoader(_BaseLoader):
    """Safe YAML that leaves timestamps as strings, as JSON does, so both decode alike."""


_YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}


class _File:
    """One file being scanned: its bytes, its path info, line numbers, the current stream group."""

    def __init__(self, data: bytes, info: _PathInfo) -> None:
        self.data = data
        self.info = info
        self.group: _Group | None = None
        self._pos = 0
        self._line = 1

    def line(self, pos: int) -> int:
        if pos < self._pos:
            self._pos, self._line = 0, 1
        self._line += self.data.count(b"\n", self._pos, pos)
        self._pos = pos
        return self._line

    def where(self, pos: int = 0, *, line: int | None = None) -> str:
        n = self.line(pos) if line is None else line
        return self.info.rel if n <= 1 else f"{self.info.rel} line {n}"


# --- the loader -------------------------------------------------------------------------------


class _Loader:
    def __init__(self, root: Path, *, raw: bool = False) -> None:
        self.root = root
        self.raw = raw
        """Keep documents of every kind and every log whole (`read_raw_dump`)."""
        self.problems: list[str] = []
        self.docs: list[_Doc] = []
        self.logs: list[_Log] = []
        self.groups: list[_Group] = []
        self.reads: set[Read] = set()  # reads a document (even an empty List) was seen for
        self.covered: dict[str, set[str]] = defaultdict(set)  # kind -> namespaces whose list was read
        self.dumped_namespaces: set[str] = set()
        self.log_sources = 0
        self.extras_reads: set[Read] = set()  # reads an `extras/<name>` List was seen for
        self.served_groups: set[str] | None = None  # from an APIGroupList (`extras/apis.json`)
        self.other_kube_docs = 0  # Kubernetes documents of kinds the builder does not keep
        self.bytes_read = 0
        self.newest_mtime = 0.0
        self._seq = 0

    def problem(self, line: str) -> None:
        self.problems.append(_one_line(line))

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _count_bytes(self, size: int) -> None:
        self.bytes_read += size
        if self.bytes_read > MAX_DUMP_BYTES:
            raise DumpError(
                f"{self.root}: more than {_size(MAX_DUMP_BYTES)} of dump data; refusing to read it "
                "(dump fewer namespaces, e.g. --namespaces default,kube-system,calico-system)"
            )

    # --- sources ------------------------------------------------------------------------------

    def read_directory(self) -> None:
        root = self.root
        try:
            os.listdir(root)
        except PermissionError:
            raise DumpError(f"{root}: permission denied") from None
        except OSError as exc:
            raise DumpError(f"{root}: cannot read ({exc.strerror or exc})") from None

        def unreadable(exc: OSError) -> None:
            where = Path(exc.filename).relative_to(root).as_posix() if exc.filename else str(root)
            self.problem(f"{where}: cannot read directory ({exc.strerror or exc})")

        paths: list[Path] = []
        for top, dirs, names in os.walk(root, onerror=unreadable):
            dirs[:] = sorted(d for d in dirs if not _is_junk(d))
            paths += (Path(top) / n for n in sorted(names) if not _is_junk(n))
        if not paths:
            raise DumpError(f"{root}: empty directory")
        for path in paths:
            rel = path.relative_to(root).as_posix()
            info = _path_info(rel)
            if info is None:
                self.problem(f"{rel}: skipped (not JSON, YAML or a log file)")
                continue
            try:
                st = path.lstat()
                if stat.S_ISLNK(st.st_mode):
                    self.problem(f"{rel}: symbolic link, not followed")
                    continue
                if not stat.S_ISREG(st.st_mode):
                    self.problem(f"{rel}: not a regular file, skipped")
                    continue
                self._count_bytes(st.st_size)
                data = path.read_bytes()
            except OSError as exc:
                self.problem(f"{rel}: unreadable ({exc.strerror or exc})")
                continue
            self.newest_mtime = max(self.newest_mtime, st.st_mtime)
            self.scan(data, info)

    def read_file(self, mtime: float) -> None:
        root = self.root
        self._count_bytes(root.stat().st_size)
        try:
            data = root.read_bytes()
        except PermissionError:
            raise DumpError(f"{root}: permission denied") from None
        except OSError as exc:
            raise DumpError(f"{root}: cannot read ({exc.strerror or exc})") from None
        name = root.name
        if data[:2] == b"\x1f\x8b":  # a gzip of the stream
            data = self._gunzip(data)
            name = name.removesuffix(".gz")
        if not data.strip():
            raise DumpError(f"{root}: empty file")
        self.newest_mtime = mtime
        self.scan(data, _PathInfo(rel=name))

    def _gunzip(self, data: bytes) -> bytes:
        inflater = zlib.decompressobj(wbits=47)
        try:
            out = inflater.decompress(data, MAX_DUMP_BYTES + 1)
        except zlib.error as exc:
            raise DumpError(f"{self.root}: corrupt gzip file ({exc})") from None
        if len(out) > MAX_DUMP_BYTES:
            raise DumpError(f"{self.root}: expands to more than {_size(MAX_DUMP_BYTES)}; refusing to read it")
        if not inflater.eof:
            raise DumpError(f"{self.root}: corrupt gzip file (truncated)")
        self.bytes_read = len(out)
        return out

    def read_archive(self, mtime: float) -> None:
        root = self.root
        try:
            archive = tarfile.open(root, mode="r:*")  # noqa: SIM115 - closed below
        except PermissionError:
            raise DumpError(f"{root}: permission denied") from None
        except _ARCHIVE_ERRORS as exc:
            raise DumpError(f"{root}: not a readable tar archive ({exc})") from None
        members = files = 0
        newest = 0.0
        with archive:
            try:
                for member in archive:
                    members += 1
                    if members > MAX_ARCHIVE_MEMBERS:
                        raise DumpError(f"{root}: more than {MAX_ARCHIVE_MEMBERS} archive members; refusing")
                    rel = _safe_member_path(member.name)
                    if rel is None:
                        self.problem(
                            f"{member.name}: unsafe path in the archive (absolute or '..'), not read"
                        )
                        continue
                    if member.isdir() or not rel:
                        continue
                    if not member.isfile():
                        self.problem(f"{rel}: link or special file in the archive, not read")
                        continue
                    self._count_bytes(member.size)  # before the member's data is touched
                    if _is_junk_path(rel):
                        continue
                    files += 1
                    info = _path_info(rel)
                    if info is None:
                        self.problem(f"{rel}: skipped (not JSON, YAML or a log file)")
                        continue
                    handle = archive.extractfile(member)
                    data = handle.read() if handle is not None else b""
                    newest = max(newest, float(member.mtime))
                    self.scan(data, info)
            except _ARCHIVE_ERRORS as exc:
                raise DumpError(f"{root}: corrupt tar archive ({exc})") from None
        if files == 0:
            raise DumpError(f"{root}: empty archive")
        self.newest_mtime = newest or mtime

    # --- scanning one file ----------------------------------------------------------------------

    def scan(self, data: bytes, info: _PathInfo) -> None:
        data = _as_utf8(data)
        if info.logs:
            self.log_sources += 1
        if not _NON_SPACE.search(data):
            if not info.logs and info.pod_log is None:
                self.problem(f"{info.rel}: empty file")
            return
        if info.pod_log is not None and _START not in data:
            namespace, pod, container = info.pod_log
            self.log_sources += 1
            self._log(namespace, pod, container, data, 0, len(data))
            return
        file = _File(data, info)
        pos = 0
        found = _next_start(data, 0)
        while found is not None:
            start, content, marker = found
            self._scan_text(file, pos, start)
            container, namespace, pod = (part.decode("utf-8", "replace") for part in marker.groups())
            following = _next_start(data, content)
            limit = following[0] if following is not None else len(data)
            end = data.find(_END % marker.groups(), content, limit)
            if end >= 0:
                text_end = end
                newline = data.find(b"\n", end)
                pos = len(data) if newline < 0 else newline + 1
            else:
                text_end = pos = limit
                self.problem(
                    f"{file.where(start)}: log of container {container} of pod {namespace}/{pod} "
                    "has no END line (dump cut short?)"
                )
            self.log_sources += 1
            if file.group is not None:
                file.group.namespaces.add(namespace)
            self._log(namespace, pod, container, data, content, text_end)
            found = following
        self._scan_text(file, pos, len(data))

    def _log(self, namespace: str, pod: str, container: str, data: bytes, start: int, end: int) -> None:
        if self.raw:
            text = data[start:end].decode("utf-8", "replace").replace("\r\n", "\n")
            self.logs.append(_Log(namespace, pod, container, text, False, self._next_seq()))
            return
        if not pod.startswith(_LOG_POD_PREFIXES):
            return  # the builder keeps no other pods; their logs are never decoded
        text, truncated = _tail(data, start, end)
        self.logs.append(_Log(namespace, pod, container, text, truncated, self._next_seq()))

    def _scan_text(self, file: _File, start: int, end: int) -> None:
        """Documents between log blocks: JSON documents one after another, or YAML documents."""
        data = file.data
        trailer = _TRAILER.search(data, start, end)
        if trailer is not None:  # old kubectl's last stdout line
            self._scan_text(file, start, trailer.start())
            self._scan_text(file, trailer.end(), end)
            return
        first = _NON_SPACE.search(data, start, end)
        if first is None:
            return
        pos = first.start()
        if data[pos : pos + 1] in (b"{", b"["):
            self._scan_json(file, pos, end)
            return
        opener = _JSON_OPEN.search(data, pos, end)
        if opener is not None and _YAML_KEY.search(data, pos, opener.start()) is None:
            self._scan_json(file, pos, end)  # text before JSON (a pasted shell prompt): reported, skipped
        else:
            self._scan_yaml(file, pos, end)

    def _scan_json(self, file: _File, pos: int, end: int) -> None:
        data = file.data
        while True:
            first = _NON_SPACE.search(data, pos, end)
            if first is None:
                return
            pos = first.start()
            opener = data[pos : pos + 1]
            if opener not in (b"{", b"["):
                nxt = _JSON_OPEN.search(data, pos, end)
                stop = nxt.start() if nxt is not None else end
                self.problem(
                    f"{file.where(pos)}: {stop - pos} bytes that are neither JSON nor a log block, skipped"
                )
                pos = stop
                continue
            close = _JSON_CLOSE[opener].search(data, pos, end)
            stop = close.end() if close is not None else end
            chunk = data[pos:stop]
            try:
                probe: _DocProbe | None = _PROBE.decode(chunk)
            except msgspec.ValidationError:  # valid JSON of another shape: the builder says what
                probe = None
            except (msgspec.DecodeError, RecursionError):  # not one pretty-printed document, or too deep
                self._scan_json_slow(file, pos, end)
                return
            self._document(file, pos, chunk, probe)
            pos = stop

    def _scan_json_slow(self, file: _File, pos: int, end: int) -> None:
        """JSON that is not kubectl's pretty print (compact, re-indented) or is broken."""
        text = file.data[pos:end].decode("utf-8", "replace")
        base = file.line(pos)
        decoder = json.JSONDecoder()
        i = 0
        while True:
            while i < len(text) and text[i].isspace():
                i += 1
            if i >= len(text):
                return
            line = base + text.count("\n", 0, i)
            if text[i] not in "{[":
                nxt = _JSON_OPEN_TEXT.search(text, i)
                stop = nxt.start() if nxt is not None else len(text)
                self.problem(
                    f"{file.where(line=line)}: {stop - i} characters that are neither JSON nor a log block"
                )
                i = stop
                continue
            try:
                value, i = decoder.raw_decode(text, i)
            except RecursionError:
                self.problem(f"{file.where(line=line)}: JSON nested too deeply, rest of the text skipped")
                return
            except json.JSONDecodeError as exc:
                self.problem(
                    f"{file.where(line=line)}: not valid JSON ({exc.msg} at line {base + exc.lineno - 1})"
                )
                boundary = _DOC_BOUNDARY.search(text, exc.pos)
                if boundary is None:
                    return
                i = boundary.end()
                continue
            if isinstance(value, dict):
                self._document(file, -1, value, _probe_dict(value), line=line)
            else:
                self.problem(f"{file.where(line=line)}: not a Kubernetes object or List")

    def _scan_yaml(self, file: _File, pos: int, end: int) -> None:
        data = file.data
        bounds = [pos]
        for sep in _YAML_SEP.finditer(data, pos, end):
            bounds += [sep.start(), sep.end()]
        bounds.append(end)
        for start, stop in zip(bounds[::2], bounds[1::2], strict=True):
            first = _NON_SPACE.search(data, start, stop)
            if first is None:
                continue
            line = file.line(first.start())
            loader = _YamlLoader(data[start:stop])
            try:
                value = loader.get_single_data()
            except RecursionError:
                self.problem(f"{file.where(line=line)}: YAML nested too deeply")
                continue
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                at = f" at line {file.line(start) + mark.line}" if mark is not None else ""
                reason = getattr(exc, "problem", None) or type(exc).__name__
                self.problem(f"{file.where(line=line)}: not valid YAML ({reason}{at})")
                continue
            finally:
                loader.dispose()
            if value is None:
                continue
            if not isinstance(value, dict):
                self.problem(f"{file.where(line=line)}: not a Kubernetes object or List")
                continue
            if _shares_nodes(value):  # kubectl never writes anchors; aliases could expand without bound
                self.problem(f"{file.where(line=line)}: YAML anchors/aliases are not accepted")
                continue
            self._document(file, -1, value, _probe_dict(value), line=line)

    def _document(
        self,
        file: _File,
        pos: int,
        body: bytes | dict[str, Any],
        probe: _DocProbe | None,
        *,
        line: int | None = None,
    ) -> None:
        """Note what a document is (reads, namespaces, place in the order) and keep it for the builder."""
        info = file.info
        where = file.where(pos, line=line)
        seq = self._next_seq()
        if probe is None or not (probe.kind or probe.items is not None):
            # not Kubernetes-shaped: the builder rejects it with its own message
            self.docs.append(_Doc(body, where, seq, 2, info.rel))
            file.group = None
            return
        if probe.kind == "APIGroupList":
            self._api_groups(body)
        extras_read = _EXTRAS_READS.get(info.extras)
        if extras_read is not None and probe.items is not None:
            self.extras_reads.add(extras_read)
        list_kind, objects = _objects_of(probe)
        kinds = {(kind, api_version) for kind, api_version, _ in objects}
        if list_kind:
            kinds.add((list_kind, probe.api_version))
        doc_reads = {target[0] for target in (read_and_type(*k) for k in kinds) if target is not None}
        self.reads |= doc_reads
        item_namespaces = {ns for _, _, ns in objects if ns}
        for kind, _, namespace in objects:
            if namespace:
                self.covered[kind].add(namespace)
        doc = _Doc(body, where, seq, 2, info.rel)
        if info.namespace:  # DIR/<ns>/<resource>.<ext>
            doc.section, doc.place, doc.rank = 1, info.namespace, info.rank
            self.dumped_namespaces.add(info.namespace)
            if list_kind:
                self.covered[list_kind].add(info.namespace)
        elif list_kind == "Node" and Read.NODES in doc_reads:
            doc.section = 0
            file.group = None
        elif list_kind in _NS_KINDS:  # a stream: a namespace's documents start with its events
            if list_kind == "Event":
                file.group = _Group()
                self.groups.append(file.group)
            if file.group is not None:
                file.group.kinds.add(list_kind)
                file.group.namespaces |= item_namespaces
                doc.section, doc.rank, doc.group = 1, _NS_KINDS.index(list_kind), file.group
        else:
            file.group = None
        if doc_reads or self.raw:
            self.docs.append(doc)
        else:
            self.other_kube_docs += 1

    def _api_groups(self, body: bytes | dict[str, Any]) -> None:
        try:
            doc = json.loads(body) if isinstance(body, bytes) else body
        except ValueError:
            return
        groups = doc.get("groups") if isinstance(doc, dict) else None
        if isinstance(groups, list):
            names = {str(g.get("name")) for g in groups if isinstance(g, dict) and g.get("name")}
            self.served_groups = (self.served_groups or set()) | names

    # --- building -------------------------------------------------------------------------------

    def result(self, cluster: str, form: Form) -> DumpResult:
        for group in self.groups:
            if group.namespace:
                self.dumped_namespaces.add(group.namespace)
                for kind in group.kinds:
                    self.covered[kind].add(group.namespace)
        fallback = datetime.fromtimestamp(self.newest_mtime, UTC)
        builder = SnapshotBuilder(cluster=cluster, source="dump", collected_at=fallback)
        accepted = self.other_kube_docs
        for doc in sorted(self.docs, key=_Doc.key):
            try:
                builder.add_document(doc.body, where=doc.where)
                accepted += 1
            except ValueError as exc:
                self.problem(str(exc))
        if accepted == 0:
            first = f" — first problem: {self.problems[0]}" if self.problems else ""
            raise DumpError(
                f"no Kubernetes objects found in {self.root} (expected kubectl cluster-info dump output){first}"
            )
        objects = builder.build()  # to learn which pods were kept and when the dump was taken
        kept = {(pod.namespace, pod.name) for pod in objects.pods}
        by_name: dict[str, set[str]] = defaultdict(set)
        for namespace, name in kept:
            by_name[name].add(namespace)
        logs: list[_Log] = []
        for log in self.logs:
            namespace = log.namespace
            if not namespace and len(by_name.get(log.pod, ())) == 1:  # runbook gather files: no namespace
                namespace = next(iter(by_name[log.pod]))
            if (namespace, log.pod) in kept:
                logs.append(_Log(namespace, log.pod, log.container, log.text, log.truncated, log.seq))
        for log in sorted(logs, key=lambda lg: (lg.namespace, lg.pod, lg.seq)):
            unreadable = _LOG_READ_ERROR.fullmatch(log.text.strip()) if len(log.text) < 2000 else None
            if unreadable is not None:
                # kubectl's placeholder, not the container's output: read as the collector reads the
                # same answer live (nothing started yet → no log; anything else → a failed read)
                message = unreadable.group(1)
                if not _NOTHING_TO_READ.search(message):
                    builder.fail(Read.LOGS, f"log {log.namespace}/{log.pod} -c {log.container}: {message}")
                continue
            builder.add_log(
                ContainerLog(
                    namespace=log.namespace,
                    pod=log.pod,
                    container=log.container,
                    text=log.text,
                    truncated=log.truncated,
                )
            )
        for problem in builder.problems:  # items that did not decode; their Lists are still read
            self.problem(problem)
        builder.collected_at = latest_timestamp(objects) or fallback
        missing = self._missing(builder, objects)
        return DumpResult(
            snapshot=builder.build(missing=missing), problems=tuple(dict.fromkeys(self.problems)), form=form
        )

    def _missing(self, builder: SnapshotBuilder, objects: Snapshot) -> list[Read]:
        present = {
            r
            for r in Read
            if r not in _SCOPED
            and r not in _EVENT_READS
            and (r in self.reads or r in self.extras_reads or builder.seen(r))
        }
        if self.served_groups is not None:  # the API groups the cluster served: a CRD not installed
            for read, group in _CRD_READ_GROUPS.items():
                if group not in self.served_groups and read not in present:
                    builder.mark_absent_kind(read)
                    present.add(read)
        events = self.covered.get("Event", set())
        if "default" in events:
            present.add(Read.NODE_EVENTS)
        if events & set(CALICO_NAMESPACES):
            present.add(Read.CALICO_EVENTS)
        if events or Read.CNI_EVENTS in self.extras_reads:  # the dumped namespaces' sandbox failures at least
            present.add(Read.CNI_EVENTS)
        if self.log_sources:
            present.add(Read.LOGS)
        if Read.NODES not in present:
            self.problem("nodes.json: not in the dump (no NodeList found); nodes count as not read")
        scoped = [read for read, kind in _SCOPED.items() if self.covered.get(kind)]
        if scoped:
            expected = _expected_calico_namespace(objects.nodes)
            if self._calico_located(objects, expected):
                present.update(scoped)
            else:
                self.problem(
                    f"{expected or 'calico-system'}: not in the dump and calico-node is in none of the namespaces "
                    "it holds, so calico pods, DaemonSets and Deployments count as not read (dump again with "
                    "--namespaces default,kube-system,calico-system,tigera-operator)"
                )
        if Read.DAEMONSETS in self.extras_reads:
            present.add(Read.DAEMONSETS)
        return [read for read in Read if read not in present]

    def _calico_located(self, objects: Snapshot, expected: str | None) -> bool:
        """Can the dump tell where calico-node is (or that it is nowhere)?"""
        if objects.calico_namespaces():
            return True
        dumped = (
            self.dumped_namespaces | self.covered.get("Pod", set()) | self.covered.get("DaemonSet", set())
        )
        if set(CALICO_NAMESPACES) <= dumped or dumped & {"kube-public", "kube-node-lease"}:
            return True
        if (
            Read.DAEMONSETS in self.extras_reads
        ):  # every namespace's DaemonSets: calico-node is found or nowhere
            return True
        return expected is not None and expected in dumped


# --- helpers ----------------------------------------------------------------------------------


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _size(n: int) -> str:
    return f"{n / (1 << 30):g} GiB" if n >= 1 << 30 else f"{n:,} bytes"


def _is_junk(name: str) -> bool:
    return name.startswith(".") or name in _JUNK_NAMES


def _is_junk_path(rel: str) -> bool:
    return any(_is_junk(part) for part in rel.split("/"))


def _is_archive(path: Path) -> bool:
    if path.name.lower().endswith(_TAR_SUFFIXES):
        return True
    try:
        return tarfile.is_tarfile(path)
    except OSError:
        return False


def _safe_member_path(name: str) -> str | None:
    """The member's path inside the archive, or None when absolute or climbing out with '..'."""
    normal = name.replace("\\", "/")
    if normal.startswith("/") or re.match(r"^[A-Za-z]:", normal):
        return None
    parts = PurePosixPath(normal).parts
    if ".." in parts:
        return None
    return "/".join(part for part in parts if part not in ("", "."))


def _path_info(rel: str) -> _PathInfo | None:
    """What a file of the dump is, from its path; None when it is not a file the loader reads."""
    parts = rel.split("/")
    name = parts[-1]
    lower = name.lower()
    stem, dot, ext = lower.rpartition(".")
    if not dot:
        stem, ext = lower, ""
    if ext not in _SCANNED_EXTS:
        return None
    if len(parts) >= 2 and stem in _NS_FILES and ext in ("json", "yaml", "yml", "txt"):
        return _PathInfo(rel=rel, namespace=parts[-2], rank=_NS_FILES.index(stem))
    if lower == "logs.txt":
        return _PathInfo(rel=rel, logs=True)
    if len(parts) >= 2 and parts[-2] == "extras" and ext in ("json", "yaml", "yml"):
        return _PathInfo(rel=rel, extras=stem)
    if ext == "log":
        gathered = _GATHER_LOG.match(name)
        if gathered is not None:  # the runbook's `kubectl logs … > calico-node-XXXXX[-cni|-ext].log`
            container = {"-cni": "install-cni", "-ext": "calico-extension"}.get(
                gathered[2] or "", "calico-node"
            )
            if gathered[2] or gathered[1].startswith("calico-node"):
                return _PathInfo(rel=rel, pod_log=("", gathered[1], container))
        if len(parts) >= 3:  # <ns>/<pod>/<container>.log
            return _PathInfo(rel=rel, pod_log=(parts[-3], parts[-2], name[: -len(".log")]))
    return _PathInfo(rel=rel)


def _name_of(path: Path) -> str:
    name = path.resolve().name if path.is_dir() else path.name
    changed = True
    while changed:
        changed = False
        for suffix in _NAME_SUFFIXES:
            if name.lower().endswith(suffix) and len(name) > len(suffix):
                name, changed = name[: -len(suffix)], True
    return name or "dump"


def _as_utf8(data: bytes) -> bytes:
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :]
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # PowerShell `>` redirect
        return data.decode("utf-16", "replace").encode("utf-8")
    return data


def _next_start(data: bytes, pos: int) -> tuple[int, int, re.Match[bytes]] | None:
    """The next START marker line at or after pos: (line start, log start, match)."""
    while True:
        at = data.find(_START, pos)
        if at < 0:
            return None
        eol = data.find(b"\n", at)
        eol = len(data) if eol < 0 else eol
        if at == 0 or data[at - 1 : at] == b"\n":
            marker = _START_LINE.fullmatch(data, at, eol - 1 if data[eol - 1 : eol] == b"\r" else eol)
            if marker is not None:
                return at, min(eol + 1, len(data)), marker
        pos = at + 1


def _tail(data: bytes, start: int, end: int) -> tuple[str, bool]:
    """The last MAX_LOG_LINES lines / MAX_LOG_BYTES of data[start:end], and whether it was cut."""
    if end > start and data[end - 1 : end] == b"\n":
        end -= 1
    if end > start and data[end - 1 : end] == b"\r":
        end -= 1
    truncated = False
    if end - start > MAX_LOG_BYTES:
        cut = end - MAX_LOG_BYTES
        newline = data.find(b"\n", cut, end)
        start = newline + 1 if newline >= 0 else cut
        truncated = True
    if data.count(b"\n", start, end) >= MAX_LOG_LINES:
        at = end
        for _ in range(MAX_LOG_LINES):
            at = data.rfind(b"\n", start, at)
        start = at + 1
        truncated = True
    text = data[start:end].decode("utf-8", "replace")
    return (text.replace("\r\n", "\n") if "\r" in text else text), truncated


def _objects_of(probe: _DocProbe) -> tuple[str, list[tuple[str, str, str]]]:
    """The item kind of a List ("" for a single object or a mixed `List`) and (kind, api, ns) per object."""
    if probe.items is None:
        return "", [(probe.kind, probe.api_version, probe.metadata.namespace)]
    list_kind = probe.kind.removesuffix("List") if probe.kind.endswith("List") else ""
    return list_kind, [
        (item.kind or list_kind, item.api_version or probe.api_version, item.metadata.namespace)
        for item in probe.items
    ]


def _probe_dict(value: dict[str, Any]) -> _DocProbe | None:
    try:
        return msgspec.convert(value, _DocProbe)
    except msgspec.ValidationError:
        return None


def _shares_nodes(value: Any) -> bool:
    """True when a loaded YAML value reuses a mapping or sequence (an alias)."""
    seen: set[int] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict | list):
            if id(item) in seen:
                return True
            seen.add(id(item))
            stack.extend(item.values() if isinstance(item, dict) else item)
    return False


def _expected_calico_namespace(nodes: tuple[Node, ...]) -> str | None:
    """Where calico-node should be, from the nodes: IKS >= 1.29 and OpenShift use calico-system."""
    if not nodes:
        return None
    for node in nodes:
        if any(label.startswith("node.openshift.io/") for label in node.metadata.labels):
            return "calico-system"
        version = _VERSION.match(node.status.node_info.kubelet_version)
        if version is not None and (int(version[1]), int(version[2])) >= (1, 29):
            return "calico-system"
    return "kube-system"
