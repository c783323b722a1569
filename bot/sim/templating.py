"""The simulator's object templates: YAML data in `bot/sim/templates/`, filled from a context.

Each template file is a mapping of named fragments (a document, a list of documents, a piece of
one). `fill(fragment, context, fragments)` returns a new structure with:

- `"${name}"` (the whole string): the context's value as it is, of any type (a list, a mapping, a
  number, a bool); `${name}` inside a longer string: the value as text.
- `{$if: FLAG, then: A, else: B}`: A when FLAG holds, else B. Without `else` the mapping key or
  list item it stands for is left out. FLAG is a context name (holds when its value is truthy) or
  `not NAME`.
- `{$when: FLAG, key: …, …}`: the mapping without its `$when` key when FLAG holds; left out (as
  a mapping value or list item) when it does not.
- `{$use: FRAGMENT, key: …}`: another fragment of the same file, filled with the same context
  (left out if it is), with the extra keys added after its own (a pod spec plus its `nodeName`).
- `{$sha256: TEXT, chars: N}`: the first N hex digits of TEXT's SHA-256 (hashes and digests).
- `{$image_id: IMAGE}`: `repo@sha256:<digest>`, the imageID a kubelet reports for IMAGE.
- `{$fields: SELECT}`: the `fieldsV1` set a field manager records for the part of the finished
  document that SELECT picks (see `select`); worked out once the rest is filled.

Templates are parsed and compiled once per process (`load`); a malformed directive is refused
then. YAML anchors and aliases (`&x` / `*x`) share a piece inside one file; merge keys (`<<`) are
not used because they reorder keys, and the key order of a template is the order the API returns.
YAML 1.1 reads `True`, `on`, `3.9` as a bool or a number: quote such strings (`status: "True"`).

`Template` is the fast path for per-worker documents: a filled document whose per-worker values
are `@@name@@` markers, encoded once and rendered by joining byte slices.
"""

from __future__ import annotations

import hashlib
import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from bot.sim.store import Json, encode

TEMPLATE_DIR = Path(__file__).with_name("templates")

_PLACEHOLDER = re.compile(r"\$\{([a-z0-9_]+)\}")
_WHOLE = re.compile(r"^\$\{([a-z0-9_]+)\}$")
_DIRECTIVES = ("$if", "$when", "$use", "$sha256", "$image_id", "$fields")
_OMIT: Any = object()
"""What an `$if` without `else` or a false `$when` gives: its key or list item is left out."""

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class TemplateError(ValueError):
    """A template that cannot be filled: an unknown placeholder, directive or fragment."""


@cache
def load(name: str) -> dict[str, Any]:
    """The fragments of `templates/<name>.yaml`, parsed and compiled once per process. They are
    never modified: `fill` always builds new structures."""
    with (TEMPLATE_DIR / f"{name}.yaml").open("rb") as handle:
        return parse(handle.read(), f"templates/{name}.yaml")


def parse(text: str | bytes, source: str = "<template>") -> dict[str, Any]:
    """Fragments from YAML text, compiled for `fill`: placeholders and directives are found once
    here, so filling walks plain structures and small node objects."""
    data = yaml.load(text, Loader=_Loader)  # noqa: S506 - SafeLoader (C or Python)
    if not isinstance(data, dict):
        raise TemplateError(f"{source}: not a mapping of fragments")
    try:
        return {name: _compile(fragment) for name, fragment in data.items()}
    except TemplateError as exc:
        raise TemplateError(f"{source}: {exc}") from None


def fill(template: Any, context: dict[str, Any], fragments: dict[str, Any] | None = None) -> Any:
    """A new structure: `template` (a fragment from `load`/`parse`, or a piece of one) with its
    placeholders and directives worked out; None when a `$when`/`$if` leaves the whole of it out."""
    filler = _Filler(context, fragments or {})
    out = filler.value(template)
    if out is _OMIT:
        return None
    if filler.fields:
        out = _resolve_fields(out, out)
    return out


def fill_list(name: str, fragment: str, context: dict[str, Any]) -> list[Json]:
    """The documents of a fragment that is a list of documents."""
    fragments = load(name)
    docs = fill(fragments[fragment], context, fragments)
    if not isinstance(docs, list):
        raise TemplateError(f"templates/{name}.yaml: {fragment} is not a list")
    return docs


def fill_doc(name: str, fragment: str, context: dict[str, Any]) -> Json:
    """A fragment that is one mapping (a document or a piece of one)."""
    fragments = load(name)
    doc = fill(fragments[fragment], context, fragments)
    if not isinstance(doc, dict):
        raise TemplateError(f"templates/{name}.yaml: {fragment} is not a mapping")
    return doc


# --- compiled nodes ---------------------------------------------------------------------------


class _Ref:
    """`"${name}"`: the context's value itself."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


class _Text:
    """A string with placeholders: literals at even, names at odd positions."""

    __slots__ = ("parts",)

    def __init__(self, text: str) -> None:
        self.parts = _PLACEHOLDER.split(text)


class _Directive:
    __slots__ = ("args", "kind")

    def __init__(self, kind: str, args: dict[str, Any]) -> None:
        self.kind = kind
        self.args = args


class _Fields:
    __slots__ = ("spec",)

    def __init__(self, spec: Any) -> None:
        self.spec = spec


def _compile(node: Any) -> Any:
    if isinstance(node, str):
        if "${" not in node:
            return node
        whole = _WHOLE.match(node)
        return _Ref(whole.group(1)) if whole else _Text(node)
    if isinstance(node, list):
        return [_compile(v) for v in node]
    if not isinstance(node, dict):
        return node
    kinds = [k for k in node if isinstance(k, str) and k.startswith("$")]
    if not kinds:
        return {k: _compile(v) for k, v in node.items()}
    if len(kinds) > 1 or kinds[0] not in _DIRECTIVES:
        raise TemplateError(f"unknown directive {kinds} (known: {', '.join(_DIRECTIVES)})")
    kind = kinds[0]
    if kind in ("$if", "$when") and not isinstance(node[kind], str):
        raise TemplateError(f"{kind}: the flag must be a context name, not {node[kind]!r}")
    if kind == "$if" and "then" not in node:
        raise TemplateError(f"$if {node[kind]!r} without then")
    if kind == "$fields":
        return _Directive(kind, dict(node))  # a selection, not a template: kept as written
    return _Directive(kind, {k: _compile(v) for k, v in node.items()})


class _Filler:
    def __init__(self, context: dict[str, Any], fragments: dict[str, Any]) -> None:
        self.context = context
        self.fragments = fragments
        self.fields = False

    def lookup(self, name: str) -> Any:
        try:
            return self.context[name]
        except KeyError:
            raise TemplateError(f"unknown placeholder ${{{name}}}") from None

    def holds(self, flag: Any) -> bool:
        text = str(flag).strip()
        if text.startswith("not "):
            return not self.holds(text[4:])
        return bool(self.lookup(text))

    def value(self, node: Any) -> Any:
        kind = type(node)
        if kind is dict:
            out = {}
            for key, item in node.items():
                filled = item if type(item) is str else self.value(item)
                if filled is not _OMIT:
                    out[key] = filled
            return out
        if kind is list:
            return [v for v in map(self.value, node) if v is not _OMIT]
        if kind is _Ref:
            return _copy(self.lookup(node.name))
        if kind is _Text:
            parts = node.parts
            return "".join(p if i % 2 == 0 else str(self.lookup(p)) for i, p in enumerate(parts))
        if kind is _Directive:
            return self.directive(node.kind, node.args)
        return node

    def directive(self, kind: str, args: dict[str, Any]) -> Any:
        if kind == "$if":
            if self.holds(args["$if"]):
                return self.value(args["then"])
            return self.value(args["else"]) if "else" in args else _OMIT
        if kind == "$when":
            if not self.holds(args["$when"]):
                return _OMIT
            return self.value({k: v for k, v in args.items() if k != "$when"})
        if kind == "$use":
            name = args["$use"]
            if name not in self.fragments:
                raise TemplateError(f"$use: no fragment {name!r}")
            base = self.value(self.fragments[name])
            if len(args) == 1 or base is _OMIT:
                return base
            if not isinstance(base, dict):
                raise TemplateError(f"$use: {name!r} is not a mapping, so it takes no extra keys")
            return {**base, **self.value({k: v for k, v in args.items() if k != "$use"})}
        if kind == "$sha256":
            digest = hashlib.sha256(str(self.value(args["$sha256"])).encode()).hexdigest()
            return digest[: int(args.get("chars", 64))]
        if kind == "$image_id":
            return image_id(str(self.value(args["$image_id"])))
        self.fields = True  # $fields
        return _Fields(args["$fields"])


def _copy(value: Any) -> Any:
    """A context value put in place: containers are copied, so no two places share one."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _resolve_fields(node: Any, root: Json) -> Any:
    if isinstance(node, _Fields):
        return fields_v1(select(root, node.spec))
    if isinstance(node, dict):
        return {k: _resolve_fields(v, root) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve_fields(v, root) for v in node]
    return node


def image_id(image: str) -> str:
    """`repo@sha256:<digest>` for `repo:tag` (a made-up but stable digest)."""
    return f"{image.rsplit(':', 1)[0]}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


# --- managedFields ----------------------------------------------------------------------------


def select(value: Any, spec: Any) -> Any:
    """The part of `value` that `spec` picks, in `value`'s key order unless `spec` lists keys:

    `true` all of it; a list of keys those keys (in the list's order); a string the keys the
    regular expression finds (`re.search`); a mapping key by key, recursively; `{$except: [keys]}`
    all keys but those; `{$first: N}` a list's first N items; `{$each: SPEC}` every item of a list,
    picked by SPEC. Keys missing from `value` are skipped.
    """
    if spec is True:
        return value
    if isinstance(spec, str):
        pattern = re.compile(spec)
        return {k: v for k, v in value.items() if pattern.search(k)}
    if isinstance(spec, list):
        return {k: value[k] for k in spec if k in value}
    if isinstance(spec, dict):
        if "$except" in spec:
            return {k: v for k, v in value.items() if k not in spec["$except"]}
        if "$first" in spec:
            return value[: int(spec["$first"])]
        if "$each" in spec:
            return [select(item, spec["$each"]) for item in value]
        return {k: select(value[k], s) for k, s in spec.items() if k in value}
    raise TemplateError(f"$fields: cannot select with {spec!r}")


_MERGE_KEYS = ("name", "type", "ip", "containerPort", "mountPath", "uid")


def fields_v1(obj: Any) -> Json:
    """The `fieldsV1` set a server-side field manager records for `obj` (maps and keyed lists)."""
    out: Json = {}
    if not isinstance(obj, dict):
        return out
    for key, value in obj.items():
        entry: Json = {}
        if isinstance(value, dict):
            entry = {".": {}, **fields_v1(value)} if value else {}
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for mkey in _MERGE_KEYS:
                if all(mkey in v for v in value):
                    for item in value:
                        ident = {mkey: item[mkey]}
                        if mkey == "containerPort" and "protocol" in item:
                            ident["protocol"] = item["protocol"]
                        entry["k:" + encode(ident).decode()] = {".": {}, **fields_v1(item)}
                    break
        out["f:" + key] = entry
    return out


# --- per-worker byte templates ------------------------------------------------------------------


def marker(name: str) -> str:
    """A per-worker value's place in a `Template`."""
    return f"@@{name}@@"


def json_values(values: dict[str, str]) -> dict[str, bytes]:
    """Marker values as they go inside a JSON string (escaped: a zone name may hold anything)."""
    return {k: encode(v)[1:-1] for k, v in values.items()}


class Template:
    """Encoded JSON with `@@name@@` markers inside strings; `render` joins slices and values."""

    _split = re.compile(rb"@@([a-z0-9_]+)@@")

    def __init__(self, doc: Json) -> None:
        parts = self._split.split(encode(doc))
        self.literals: list[bytes] = parts[0::2]
        self.names: list[str] = [p.decode() for p in parts[1::2]]

    def render(self, values: dict[str, bytes]) -> bytes:
        out = [self.literals[0]]
        for name, literal in zip(self.names, self.literals[1:], strict=True):
            out.append(values[name])
            out.append(literal)
        return b"".join(out)
