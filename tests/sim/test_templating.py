"""The template language of `bot/sim/templates/` (bot/sim/templating.py) and its files."""

from __future__ import annotations

import hashlib
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest

from bot.sim.templating import (
    TEMPLATE_DIR,
    Template,
    TemplateError,
    fields_v1,
    fill,
    image_id,
    json_values,
    load,
    parse,
    select,
)

ROOT = Path(__file__).resolve().parents[2]


def filled(text: str, context: dict[str, object], fragment: str = "t") -> object:
    fragments = parse(text)
    return fill(fragments[fragment], context, fragments)


def test_a_whole_placeholder_keeps_the_type_and_a_partial_one_gives_text() -> None:
    out = filled("t: {n: '${n}', items: '${items}', label: 'x-${n}-${s}'}", {"n": 3, "items": [1], "s": "y"})
    assert out == {"n": 3, "items": [1], "label": "x-3-y"}


def test_an_unknown_placeholder_is_an_error_that_names_it() -> None:
    with pytest.raises(TemplateError, match=r"\$\{missing\}"):
        filled("t: {a: '${missing}'}", {})


def test_if_chooses_and_leaves_a_key_or_item_out_without_else() -> None:
    text = """
t:
  provider: {$if: vpc, then: g2, else: softlayer}
  subnet: {$if: vpc, then: s1}
  vlan: {$if: not vpc, then: v1}
  list: [a, {$if: vpc, then: b}, c]
"""
    assert filled(text, {"vpc": True}) == {"provider": "g2", "subnet": "s1", "list": ["a", "b", "c"]}
    assert filled(text, {"vpc": False}) == {"provider": "softlayer", "vlan": "v1", "list": ["a", "c"]}


def test_the_branch_not_taken_is_not_filled() -> None:
    assert filled("t: {a: {$if: enabled, then: '${only_then}', else: 1}}", {"enabled": False}) == {"a": 1}


def test_when_keeps_a_mapping_without_its_guard_or_drops_it() -> None:
    text = "t: [{$when: era, name: x, v: '${v}'}, {name: y}]"
    assert filled(text, {"era": True, "v": 1}) == [{"name": "x", "v": 1}, {"name": "y"}]
    assert filled(text, {"era": False}) == [{"name": "y"}]
    assert filled("t: {$when: era, a: 1}", {"era": False}) is None


def test_use_fills_another_fragment_and_appends_keys_after_its_own() -> None:
    text = """
spec: {containers: '${c}', dns: x}
t: {$use: spec, nodeName: '${node}'}
mount: {$when: for_pod, name: token}
u: [{name: a}, {$use: mount}]
"""
    out = filled(text, {"c": [1], "node": "10.0.0.1"})
    assert isinstance(out, dict)
    assert list(out) == ["containers", "dns", "nodeName"]
    assert filled(text, {"for_pod": False}, "u") == [{"name": "a"}]
    assert filled(text, {"for_pod": True}, "u") == [{"name": "a"}, {"name": "token"}]


def test_sha256_and_image_id() -> None:
    out = filled("t: {h: {$sha256: 'x${n}', chars: 8}, i: {$image_id: 'r/a:${tag}'}}", {"n": 1, "tag": "v1"})
    assert out == {"h": hashlib.sha256(b"x1").hexdigest()[:8], "i": image_id("r/a:v1")}
    assert image_id("reg/calico/node:v3.27.4").startswith("reg/calico/node@sha256:")


def test_fields_are_worked_out_from_the_finished_document() -> None:
    text = """
t:
  metadata:
    labels: {ibm-cloud.kubernetes.io/zone: '${zone}', kubernetes.io/os: linux}
    managedFields:
      - {manager: kubelet, fieldsV1: {$fields: {metadata: {labels: '^(?!ibm-cloud)'}}}}
      - {manager: labels, fieldsV1: {$fields: {metadata: {labels: '^ibm-cloud'}}}}
"""
    out = filled(text, {"zone": "dal10"})
    assert isinstance(out, dict)
    managed = out["metadata"]["managedFields"]
    assert managed[0]["fieldsV1"] == {
        "f:metadata": {".": {}, "f:labels": {".": {}, "f:kubernetes.io/os": {}}}
    }
    assert managed[1]["fieldsV1"] == {
        "f:metadata": {".": {}, "f:labels": {".": {}, "f:ibm-cloud.kubernetes.io/zone": {}}}
    }


def test_select_keeps_the_documents_order_unless_it_lists_keys() -> None:
    doc = {"b": 1, "a": {"x": 1, "y": 2}, "c": [{"uid": "u", "n": 1}, {"uid": "v", "n": 2}]}
    assert list(select(doc, ["c", "b"])) == ["c", "b"]
    assert select(doc, {"a": {"$except": ["x"]}}) == {"a": {"y": 2}}
    assert select(doc, {"c": {"$first": 1}}) == {"c": [{"uid": "u", "n": 1}]}
    assert select(doc, {"c": {"$each": ["uid"]}}) == {"c": [{"uid": "u"}, {"uid": "v"}]}
    assert select(doc, {"missing": True, "b": True}) == {"b": 1}
    assert fields_v1(select(doc, {"c": {"$each": ["uid"]}})) == {
        "f:c": {'k:{"uid":"u"}': {".": {}, "f:uid": {}}, 'k:{"uid":"v"}': {".": {}, "f:uid": {}}}
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("t: {$unless: x, a: 1}", "unknown directive"),
        ("t: {$if: x, else: 1}", "without then"),
        ("t: {$if: x, $when: y, then: 1}", "unknown directive"),
        ("t: {$if: on, then: 1}", "flag"),  # YAML 1.1 reads `on` as true: a flag is a name
        ("- just a list", "not a mapping of fragments"),
    ],
)
def test_malformed_templates_are_refused_when_parsed(text: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        parse(text)


def test_use_of_a_missing_fragment_is_an_error() -> None:
    with pytest.raises(TemplateError, match="no fragment 'nope'"):
        filled("t: {$use: nope}", {})


def test_filled_structures_share_nothing_with_the_template_or_the_context() -> None:
    fragments = parse("t: {spec: '${spec}', list: [a], fixed: {k: v}}")
    spec = {"containers": [{"name": "c"}]}
    first = fill(fragments["t"], {"spec": spec}, fragments)
    first["spec"]["containers"][0]["name"] = "changed"
    first["list"].append("b")
    first["fixed"]["k"] = "changed"
    assert spec == {"containers": [{"name": "c"}]}
    assert fill(fragments["t"], {"spec": spec}, fragments) == {
        "spec": {"containers": [{"name": "c"}]},
        "list": ["a"],
        "fixed": {"k": "v"},
    }


def test_byte_template_renders_escaped_values_in_place() -> None:
    template = Template({"name": "@@ip@@", "zone": "z-@@zone@@", "n": 1})
    out = template.render(json_values({"ip": "10.0.0.1", "zone": 'a"b'}))
    assert out == b'{"name":"10.0.0.1","zone":"z-a\\"b","n":1}'


def test_every_template_file_parses_and_is_shipped_in_the_package() -> None:
    files = sorted(TEMPLATE_DIR.glob("*.yaml"))
    assert {p.stem for p in files} >= {"node", "lease", "calico-node", "calico-resources", "workloads"}
    for path in files:
        assert load(path.stem), path
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    patterns = package_data["bot"]
    for path in files:
        relative = path.relative_to(ROOT / "bot").as_posix()
        assert any(fnmatch(relative, pattern) for pattern in patterns), relative
