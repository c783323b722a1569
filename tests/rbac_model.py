"""Kubernetes RBAC authorization, modelled for checking deploy/base/rbac.yaml (pure functions):

- `grants(docs, subject)`: every (group, resource, verb, resourceName) a subject gets, per binding
  and scope: a ClusterRoleBinding grants everywhere, a RoleBinding only in its own namespace;
- `Requirement`: what one request needs. Creating a Role or a RoleBinding needs more than `create`
  (Kubernetes' escalation prevention): the creator must hold every permission the Role grants, in
  that namespace, or hold `escalate` on roles (checked with the request's name, which a create
  does not have: `resourceNames` cannot narrow it) / `bind` on the referenced role (checked with
  the role's name: `resourceNames` works);
- `missing`: requirements no grant satisfies; `unneeded`: grants without which every requirement
  is still satisfied (an unused grant, or a duplicate of another).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import product
from typing import Any

from bot.cluster.rbac import Access

RBAC_GROUP = "rbac.authorization.k8s.io"


@dataclass(frozen=True, order=True)
class Grant:
    binding: str
    """`ClusterRoleBinding/NAME` or `RoleBinding/NAMESPACE/NAME`."""
    role: str
    namespace: str
    """Where it applies: "" for everywhere (a ClusterRoleBinding), else the RoleBinding's namespace."""
    group: str
    resource: str
    verb: str
    name: str = ""
    """A resourceName; "" = any object."""

    def allows(self, access: Access) -> bool:
        if self.namespace and self.namespace != access.namespace:
            return False
        return (
            self.group in (access.group, "*")
            and self.resource in (access.resource, "*")
            and self.verb in (access.verb, "*")
            and (not self.name or self.name == access.name)
        )

    def describe(self) -> str:
        where = f"in {self.namespace}" if self.namespace else "cluster-wide"
        named = f" resourceNames [{self.name}]" if self.name else ""
        return f"{self.role} via {self.binding}: {self.verb} {self.resource}{named} ({self.group or 'core'}) {where}"


@dataclass(frozen=True)
class Requirement:
    why: str
    alternatives: tuple[tuple[Access, ...], ...]
    """Satisfied when every access of at least one alternative is allowed."""

    def satisfied_by(self, granted: Sequence[Grant]) -> bool:
        return any(all(any(g.allows(a) for g in granted) for a in alt) for alt in self.alternatives)


def grants(docs: Iterable[dict[str, Any]], subject: tuple[str, str, str]) -> list[Grant]:
    """What `subject` (kind, namespace, name) is granted by the bindings in `docs` that name it."""
    docs = list(docs)
    roles = {
        (d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"]): d.get("rules") or []
        for d in docs
        if d["kind"] in ("ClusterRole", "Role")
    }
    found: list[Grant] = []
    for doc in docs:
        if doc["kind"] not in ("ClusterRoleBinding", "RoleBinding"):
            continue
        subjects = {(s["kind"], s.get("namespace", ""), s["name"]) for s in doc.get("subjects") or []}
        if subject not in subjects:
            continue
        namespace = doc["metadata"].get("namespace", "") if doc["kind"] == "RoleBinding" else ""
        ref = doc["roleRef"]
        key = (ref["kind"], "" if ref["kind"] == "ClusterRole" else namespace, ref["name"])
        if key not in roles:
            raise ValueError(
                f"{doc['kind']} {doc['metadata']['name']} refers to {key}, which is not in the file"
            )
        binding = "/".join(x for x in (doc["kind"], namespace, doc["metadata"]["name"]) if x)
        role = "/".join(x for x in key if x)
        for rule in roles[key]:
            for group, resource, verb, name in product(
                rule.get("apiGroups") or [""],
                rule["resources"],
                rule["verbs"],
                rule.get("resourceNames") or [""],
            ):
                found.append(Grant(binding, role, namespace, group, resource, verb, name))
    return found


def held(rules: Iterable[dict[str, Any]], namespace: str) -> tuple[Access, ...]:
    """The accesses a creator must hold to create a Role with `rules` in `namespace`."""
    return tuple(
        Access(verb, group, resource, namespace, name)
        for rule in rules
        for group, resource, verb, name in product(
            rule.get("apiGroups") or [""], rule["resources"], rule["verbs"], rule.get("resourceNames") or [""]
        )
    )


def requirements(
    access: Access, body: dict[str, Any] | None, why: str, created_roles: dict[tuple[str, str], list[Any]]
) -> list[Requirement]:
    """What one request needs: its own access, plus escalation prevention for Role/RoleBinding writes.
    `created_roles` maps (namespace, name) to the rules of the Roles the code creates."""
    needed = [Requirement(why, ((access,),))]
    if access.group != RBAC_GROUP or access.verb != "create" or body is None:
        return needed
    if access.resource == "roles":
        escalate = Access("escalate", RBAC_GROUP, "roles", access.namespace, access.name)
        needed.append(
            Requirement(
                f"{why}: create Role {body['metadata']['name']} (hold its permissions, or escalate)",
                (held(body.get("rules") or [], access.namespace), (escalate,)),
            )
        )
    elif access.resource == "rolebindings":
        ref = body["roleRef"]
        if ref["kind"] != "Role":
            raise ValueError(f"{why}: only bindings of Roles are modelled, not {ref['kind']}")
        rules = created_roles[(access.namespace, ref["name"])]
        bind = Access("bind", ref["apiGroup"], "roles", access.namespace, ref["name"])
        needed.append(
            Requirement(
                f"{why}: bind Role {ref['name']} (hold its permissions, or bind)",
                (held(rules, access.namespace), (bind,)),
            )
        )
    return needed


def missing(granted: Sequence[Grant], needed: Iterable[Requirement]) -> list[Requirement]:
    return [r for r in needed if not r.satisfied_by(granted)]


def unneeded(granted: Sequence[Grant], needed: Sequence[Requirement]) -> list[Grant]:
    """Grants that can each be taken away with every requirement still satisfied."""
    spare = []
    for index, grant in enumerate(granted):
        rest = [g for i, g in enumerate(granted) if i != index]
        if all(r.satisfied_by(rest) for r in needed):
            spare.append(grant)
    return spare
