"""RBAC analysis of a cluster snapshot: effective permissions per subject, who-can, and risk findings.

    index = RbacIndex(snapshot)                      # roles aggregated, bindings resolved, once
    who_can(index, "create", "pods/exec", namespace="prod") -> [Grant]
    effective_permissions(index, Subject("ServiceAccount", "argocd-server", "argocd")) -> {Permission}
    analyze(index).findings                          # LSH-RBAC-* findings (see risks.yaml)
"""

from lashing.analyzers.cluster.rbac.model import CLUSTER, Grant, Permission, PolicyRule, Ref, Subject
from lashing.analyzers.cluster.rbac.resolve import (
    RbacIndex,
    effective_permissions,
    parse_resource,
    permission_set,
    who_can,
)
from lashing.analyzers.cluster.rbac.risks import RbacAnalysis, Risk, analyze, load_risks, rule_risks

__all__ = ["CLUSTER", "Grant", "Permission", "PolicyRule", "RbacAnalysis", "RbacIndex", "Ref", "Risk", "Subject",
           "analyze", "effective_permissions", "load_risks", "parse_resource", "permission_set", "rule_risks",
           "who_can"]
