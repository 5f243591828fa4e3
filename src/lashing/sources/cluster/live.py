"""A live cluster through the official `kubernetes` client: read-only list calls, paginated, per-kind errors.

Only `list` verbs are used (plus `GET /version`). Responses are read raw (`_preload_content=False`) so objects
keep the API server's own JSON; Secrets are reduced to metadata and type as soon as they arrive. A kind the
credentials may not list (403) or the server does not serve (404) becomes a warning; rejected credentials
(401) or an unreachable server stop the fetch with one line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from lashing.errors import LashingError
from lashing.model import Location
from lashing.sources.cluster.snapshot import ClusterSnapshot, add_builtin, to_object

PAGE_SIZE = 500
MAX_PAGES = 2_000  # per kind: 1,000,000 objects
MAX_RESPONSE_BYTES = 64 * 1024 * 1024  # one page (500 objects); real pages are a few MB
TIMEOUT = (10, 120)  # connect, read seconds


class ClusterAccessError(LashingError):
    """The cluster cannot be reached, or rejected the credentials."""


@dataclass(frozen=True)
class ListCall:
    """One kind and the client call listing it across all namespaces."""

    kind: str
    api_version: str
    api: str  # kubernetes.client class
    method: str
    resource: str  # for messages: plural[.group]


LIST_CALLS: tuple[ListCall, ...] = (
    ListCall("Namespace", "v1", "CoreV1Api", "list_namespace", "namespaces"),
    ListCall("Node", "v1", "CoreV1Api", "list_node", "nodes"),
    ListCall("Pod", "v1", "CoreV1Api", "list_pod_for_all_namespaces", "pods"),
    ListCall("Service", "v1", "CoreV1Api", "list_service_for_all_namespaces", "services"),
    ListCall("ServiceAccount", "v1", "CoreV1Api", "list_service_account_for_all_namespaces", "serviceaccounts"),
    ListCall("ConfigMap", "v1", "CoreV1Api", "list_config_map_for_all_namespaces", "configmaps"),
    ListCall("Secret", "v1", "CoreV1Api", "list_secret_for_all_namespaces", "secrets"),
    ListCall("ReplicationController", "v1", "CoreV1Api", "list_replication_controller_for_all_namespaces",
             "replicationcontrollers"),
    ListCall("Deployment", "apps/v1", "AppsV1Api", "list_deployment_for_all_namespaces", "deployments.apps"),
    ListCall("StatefulSet", "apps/v1", "AppsV1Api", "list_stateful_set_for_all_namespaces", "statefulsets.apps"),
    ListCall("DaemonSet", "apps/v1", "AppsV1Api", "list_daemon_set_for_all_namespaces", "daemonsets.apps"),
    ListCall("ReplicaSet", "apps/v1", "AppsV1Api", "list_replica_set_for_all_namespaces", "replicasets.apps"),
    ListCall("Job", "batch/v1", "BatchV1Api", "list_job_for_all_namespaces", "jobs.batch"),
    ListCall("CronJob", "batch/v1", "BatchV1Api", "list_cron_job_for_all_namespaces", "cronjobs.batch"),
    ListCall("Role", "rbac.authorization.k8s.io/v1", "RbacAuthorizationV1Api", "list_role_for_all_namespaces",
             "roles.rbac.authorization.k8s.io"),
    ListCall("ClusterRole", "rbac.authorization.k8s.io/v1", "RbacAuthorizationV1Api", "list_cluster_role",
             "clusterroles.rbac.authorization.k8s.io"),
    ListCall("RoleBinding", "rbac.authorization.k8s.io/v1", "RbacAuthorizationV1Api",
             "list_role_binding_for_all_namespaces", "rolebindings.rbac.authorization.k8s.io"),
    ListCall("ClusterRoleBinding", "rbac.authorization.k8s.io/v1", "RbacAuthorizationV1Api",
             "list_cluster_role_binding", "clusterrolebindings.rbac.authorization.k8s.io"),
    ListCall("NetworkPolicy", "networking.k8s.io/v1", "NetworkingV1Api", "list_network_policy_for_all_namespaces",
             "networkpolicies.networking.k8s.io"),
    ListCall("ValidatingWebhookConfiguration", "admissionregistration.k8s.io/v1", "AdmissionregistrationV1Api",
             "list_validating_webhook_configuration", "validatingwebhookconfigurations.admissionregistration.k8s.io"),
    ListCall("MutatingWebhookConfiguration", "admissionregistration.k8s.io/v1", "AdmissionregistrationV1Api",
             "list_mutating_webhook_configuration", "mutatingwebhookconfigurations.admissionregistration.k8s.io"),
)
KINDS = tuple(c.kind for c in LIST_CALLS)
RBAC_KINDS = ("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")


def _one_line(text: Any, limit: int = 300) -> str:
    line = " ".join(str(text or "").split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _status_message(body: Any) -> str:
    """The `message` of a Status error body, else the body itself, as one line."""
    try:
        data = json.loads(body)
        if isinstance(data, dict) and data.get("message"):
            return _one_line(data["message"])
    except (TypeError, ValueError):
        pass
    return _one_line(body if isinstance(body, str) else "")


def api_client(kubeconfig: str | None = None, context: str | None = None):
    """An ApiClient for the kubeconfig's context (default: $KUBECONFIG or ~/.kube/config, else in-cluster)."""
    try:
        import yaml
        from kubernetes import client as k8s_client
        from kubernetes import config
        from kubernetes.config.config_exception import ConfigException
    except ImportError:
        raise ClusterAccessError("live clusters need the `kubernetes` package: pip install kubernetes") from None
    configuration = k8s_client.Configuration()
    configuration.retries = 1  # fail fast on an unreachable server; list calls are not retried blindly
    try:
        config.load_kube_config(config_file=kubeconfig, context=context, client_configuration=configuration)
    except ConfigException as exc:
        if kubeconfig is not None or context is not None:
            raise ClusterAccessError(f"kubeconfig: {_one_line(exc)}") from None
        try:  # no kubeconfig at all: maybe we run inside a pod
            config.load_incluster_config(client_configuration=configuration)
        except ConfigException:
            raise ClusterAccessError(f"no usable kubeconfig: {_one_line(exc)}") from None
    except (OSError, ValueError, TypeError, AttributeError, yaml.YAMLError) as exc:
        raise ClusterAccessError(f"kubeconfig {kubeconfig or '~/.kube/config'}: {_one_line(exc)}") from None
    return k8s_client.ApiClient(configuration=configuration)


def _context_name(kubeconfig: str | None, context: str | None) -> str:
    if context:
        return context
    try:
        from kubernetes import config

        _, active = config.list_kube_config_contexts(config_file=kubeconfig)
        return str(active.get("name") or "cluster")
    except Exception:  # naming only; the real errors surface in api_client
        return "cluster"


def fetch_live(kubeconfig: str | None = None, context: str | None = None, kinds: tuple[str, ...] | None = None,
               builtin: bool = True, page_size: int = PAGE_SIZE) -> ClusterSnapshot:
    """List every kind the analyzers need (or `kinds`) from the cluster of `context` into a snapshot."""
    from kubernetes import client as k8s
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    api = api_client(kubeconfig, context)
    name = _context_name(kubeconfig, context)
    host = api.configuration.host
    snapshot = ClusterSnapshot(source=f"k8s://{name}")
    try:
        version = k8s.VersionApi(api).get_code(_request_timeout=TIMEOUT)
        snapshot.server_version = str(getattr(version, "git_version", "") or "")
    except ApiException as exc:
        if exc.status == 401:
            raise ClusterAccessError(f"{host}: unauthorized (HTTP 401): the credentials of {name} were rejected") \
                from None
        snapshot.warn(f"cannot read the server version (HTTP {exc.status}): {_status_message(exc.body)}")
    except HTTPError as exc:
        raise ClusterAccessError(f"cannot reach the API server at {host}: {_one_line(exc)}") from None
    wanted = set(kinds or KINDS)
    unknown = wanted - set(KINDS)
    if unknown:
        raise ClusterAccessError(f"cannot list kinds {', '.join(sorted(unknown))}; known: {', '.join(KINDS)}")
    apis: dict[str, Any] = {}
    try:
        for call in LIST_CALLS:
            if call.kind in wanted:
                if call.api not in apis:
                    apis[call.api] = getattr(k8s, call.api)(api)
                _list_kind(snapshot, apis[call.api], call, page_size, ApiException)
    except HTTPError as exc:
        raise ClusterAccessError(f"lost the API server at {host}: {_one_line(exc)}") from None
    finally:
        api.close()
    if builtin:
        add_builtin(snapshot)
    return snapshot


def _read_bounded(response: Any, limit: int) -> bytes | None:
    """The body of a raw (unpreloaded) urllib3 response, read in chunks; None past `limit` bytes (declared
    or actual: a hostile or broken server is not allowed to fill memory). A body left unread closes its
    connection instead of returning it to the pool."""
    complete = False
    try:
        declared = response.headers.get("Content-Length") if response.headers is not None else None
        if declared and str(declared).isdigit() and int(declared) > limit:
            return None
        chunks: list[bytes] = []
        size = 0
        for chunk in response.stream(1 << 20):
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
        complete = True
        return b"".join(chunks)
    finally:
        if not complete:
            response.close()
        response.release_conn()


def _list_kind(snapshot: ClusterSnapshot, api: Any, call: ListCall, page_size: int, api_exception: type) -> None:
    token: str | None = None
    restarted = False
    pages = 0
    while True:
        kwargs: dict[str, Any] = {"limit": page_size, "_preload_content": False, "_request_timeout": TIMEOUT}
        if token:
            kwargs["_continue"] = token
        try:
            response = getattr(api, call.method)(**kwargs)
            body = _read_bounded(response, MAX_RESPONSE_BYTES)
        except api_exception as exc:
            status = exc.status
            if status == 401:
                raise ClusterAccessError(f"unauthorized (HTTP 401) listing {call.resource}: the credentials were "
                                         "rejected") from None
            if status == 410 and token and not restarted:  # continue token expired: start the list again
                snapshot.warn(f"{call.resource}: the list changed while paging (HTTP 410); listed again")
                token, restarted, pages = None, True, 0
                snapshot.drop_kind(call.kind)
                continue
            reason = {403: "forbidden", 404: "not served by this API server"}.get(status, f"HTTP {status}")
            snapshot.warn(f"cannot list {call.resource} ({reason}, HTTP {status}): {_status_message(exc.body)}; "
                          f"{call.kind} objects are left out")
            return
        if body is None:
            snapshot.warn(f"{call.resource}: a page larger than {MAX_RESPONSE_BYTES} bytes; the rest left out")
            return
        try:
            data = json.loads(body)
        except ValueError:
            snapshot.warn(f"{call.resource}: the API server sent invalid JSON; {call.kind} objects are left out")
            return
        items = data.get("items") if isinstance(data, dict) else None
        if not isinstance(items, list):
            snapshot.warn(f"{call.resource}: the API server sent no item list; {call.kind} objects are left out")
            return
        for item in items:
            if isinstance(item, dict):
                item = {"kind": call.kind, "apiVersion": call.api_version, **item}  # list items carry no kind
            obj = to_object(item)
            if isinstance(obj, str):
                snapshot.warn(f"{call.resource}: {obj}; skipped")
                continue
            snapshot.add(replace(obj, location=Location(f"{snapshot.source}/{obj.ref}")))
        metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
        token = metadata.get("continue") or None
        pages += 1
        if not token:
            return
        if pages >= MAX_PAGES:
            snapshot.warn(f"{call.resource}: more than {MAX_PAGES} pages; the rest left out")
            return
