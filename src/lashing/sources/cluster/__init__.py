"""Kubernetes cluster sources: offline snapshots (manifests, kubectl output), live clusters, built-in roles."""

from lashing.sources.cluster.live import KINDS, RBAC_KINDS, ClusterAccessError, fetch_live
from lashing.sources.cluster.snapshot import ClusterSnapshot, KubeObject, load_snapshot, write_snapshot

__all__ = ["KINDS", "RBAC_KINDS", "ClusterAccessError", "ClusterSnapshot", "KubeObject", "fetch_live",
           "load_snapshot", "write_snapshot"]
