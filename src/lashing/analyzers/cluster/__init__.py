"""Cluster posture analyzers: RBAC (rbac/) and network policy (netpol/) over a ClusterSnapshot."""
