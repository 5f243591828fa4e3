"""Secret objects and service-account tokens: what the config rules cannot see from one pod template.

| id | severity | when |
|---|---|---|
| LSH-K8S-SECRET-UNUSUAL-TYPE | LOW | a Secret whose type is neither Opaque nor a built-in type |
| LSH-K8S-SECRET-SA-TOKEN | LOW | a long-lived `kubernetes.io/service-account-token` Secret (never expires) |

Token automount (`LSH-K8S-SA-TOKEN-AUTOMOUNT`, a pod-spec rule) is settled here with the service account:
a pod that leaves `automountServiceAccountToken` unset while its ServiceAccount sets it to false mounts nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lashing.analyzers.config.kubernetes import POD_TEMPLATES
from lashing.analyzers.config.podspec import as_dict
from lashing.model import Finding, FindingKind, Severity
from lashing.sources.cluster import ClusterSnapshot

UNUSUAL_TYPE = "LSH-K8S-SECRET-UNUSUAL-TYPE"
SA_TOKEN_SECRET = "LSH-K8S-SECRET-SA-TOKEN"
AUTOMOUNT = "LSH-K8S-SA-TOKEN-AUTOMOUNT"
SECRETS_DOC = "https://kubernetes.io/docs/concepts/configuration/secret/#secret-types"
KNOWN_TYPES = frozenset({
    "Opaque", "kubernetes.io/service-account-token", "kubernetes.io/dockercfg", "kubernetes.io/dockerconfigjson",
    "kubernetes.io/basic-auth", "kubernetes.io/ssh-auth", "kubernetes.io/tls", "bootstrap.kubernetes.io/token",
    "helm.sh/release.v1",
})


def secret_findings(snapshot: ClusterSnapshot) -> list[Finding]:
    out = []
    for obj in snapshot.of_kind("Secret"):
        kind = obj.data.get("type") or "Opaque"
        kind = str(kind)[:200]
        extra = {"resource": obj.ref, "namespace": obj.namespace, "secret_type": kind}
        if kind == "kubernetes.io/service-account-token":
            account = as_dict(obj.metadata.get("annotations")).get("kubernetes.io/service-account.name", "?")
            out.append(Finding(
                id=SA_TOKEN_SECRET, kind=FindingKind.CONFIG, severity=Severity.LOW,
                title=f"Long-lived service-account token Secret {obj.ref}",
                description=f"{obj.ref} holds a token of ServiceAccount {account} that never expires; "
                "projected tokens (TokenRequest) are bound to a pod and expire.",
                location=obj.location_of("type"), references=(SECRETS_DOC,),
                remediation="Delete the Secret and let pods use projected service-account tokens.",
                extra={**extra, "service_account": str(account)[:253]}))
        elif kind not in KNOWN_TYPES:
            out.append(Finding(
                id=UNUSUAL_TYPE, kind=FindingKind.CONFIG, severity=Severity.LOW,
                title=f"Secret {obj.ref} has an unusual type {kind!r}",
                description="A Secret type outside the built-in ones is often a tool's private format whose contents "
                "escape the usual reviews (and the API server validates nothing of it).",
                location=obj.location_of("type"), references=(SECRETS_DOC,),
                remediation="Check what writes and reads this Secret; prefer a built-in type or an external manager.",
                extra=extra))
    return out


def _pod_spec(data: Any, kind: str) -> dict[str, Any]:
    for key in POD_TEMPLATES[kind][1]:
        data = as_dict(data).get(key)
    return as_dict(data)


def settle_automount(findings: Iterable[Finding], snapshot: ClusterSnapshot) -> list[Finding]:
    """Drop LSH-K8S-SA-TOKEN-AUTOMOUNT where the pod leaves it unset and its ServiceAccount disables it."""
    out = []
    for finding in findings:
        if finding.id == AUTOMOUNT:
            kind, _, rest = str(finding.extra.get("resource", "")).partition("/")
            namespace, _, name = rest.partition("/")
            obj = snapshot.get(kind, name, namespace) if kind in POD_TEMPLATES else None
            if obj is not None:
                spec = _pod_spec(obj.data, kind)
                account_name = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
                account = snapshot.get("ServiceAccount", str(account_name), namespace)
                if "automountServiceAccountToken" not in spec and account is not None \
                        and account.data.get("automountServiceAccountToken") is False:
                    continue
        out.append(finding)
    return out
