"""Cluster sources: manifests and kubectl output as snapshots, and the live path against recorded API responses.

The live tests serve tests/fixtures/cluster/api (list responses in the API server's own shape, two pages of
ClusterRoles and a 403 on secrets) from a real HTTP server behind a kubeconfig, through the official client.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from typer.testing import CliRunner

from lashing.analyzers.cluster.rbac import analyze
from lashing.cli.k8s import app
from lashing.errors import UsageError
from lashing.sources.cluster import ClusterAccessError, fetch_live, load_snapshot, write_snapshot
from lashing.sources.cluster.live import LIST_CALLS

API = Path(__file__).parent / "fixtures" / "cluster" / "api"
TOKEN = "fixture-token-7d3e"


def _list_paths() -> dict[str, tuple[str, str]]:
    """API path of every list call -> (List kind, apiVersion), for the kinds without a recorded response."""
    out = {}
    for call in LIST_CALLS:
        plural = call.resource.split(".")[0]
        prefix = "/api/v1" if call.api_version == "v1" else f"/apis/{call.api_version}"
        out[f"{prefix}/{plural}"] = (f"{call.kind}List", call.api_version)
    return out


class _Api(BaseHTTPRequestHandler):
    paths = _list_paths()

    def log_message(self, *args) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        self.server.requests.append((url.path, query))  # type: ignore[attr-defined]
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            status = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                      "message": "Unauthorized", "reason": "Unauthorized", "code": 401}
            return self._send(401, json.dumps(status).encode())
        if url.path == "/version":
            return self._send(200, (API / "version.json").read_bytes())
        base = url.path.strip("/").replace("/", "_")
        if (API / f"{base}.403.json").exists():
            return self._send(403, (API / f"{base}.403.json").read_bytes())
        pages = [API / f"{base}.json", *sorted(API.glob(f"{base}.[0-9].json"))]
        pages = [p for p in pages if p.exists()]
        if not pages:
            if url.path not in self.paths:
                return self._send(404, b'{"kind":"Status","apiVersion":"v1","status":"Failure","code":404}')
            kind, version = self.paths[url.path]
            empty = {"kind": kind, "apiVersion": version, "metadata": {"resourceVersion": "52011"}, "items": []}
            return self._send(200, json.dumps(empty).encode())
        token = query.get("continue", [""])[0]
        index = 0
        if token:
            tokens = [json.loads(p.read_text())["metadata"].get("continue") for p in pages]
            index = tokens.index(token) + 1
        return self._send(200, pages[index].read_bytes())


@pytest.fixture(scope="module")
def api_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    server.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _kubeconfig(path: Path, port: int, token: str = TOKEN) -> Path:
    path.write_text(f"""apiVersion: v1
kind: Config
clusters:
- name: fixture
  cluster: {{server: "http://127.0.0.1:{port}"}}
users:
- name: auditor
  user: {{token: {token}}}
contexts:
- name: prod
  context: {{cluster: fixture, user: auditor}}
current-context: prod
""")
    return path


@pytest.fixture(scope="module")
def live(api_server, tmp_path_factory):
    config = _kubeconfig(tmp_path_factory.mktemp("kube") / "config", api_server.server_address[1])
    return fetch_live(str(config))


def test_live_snapshot_equals_the_same_responses_read_as_files(live, api_server):
    files = load_snapshot(API)
    assert live.canonical() == files.canonical()
    assert len(live.canonical()) == 24
    assert live.server_version == "v1.29.4"
    assert live.source == "k8s://prod"
    # both pages of the paginated ClusterRole list, asked with limit and the continue token of page one
    names = [o.name for o in live.of_kind("ClusterRole") if not o.builtin]
    assert names == ["aggregate-monitoring", "ci-deployer", "monitoring-kubelet", "shop-secrets-reader"]
    role_calls = [q for p, q in api_server.requests if p.endswith("/clusterroles")]
    assert role_calls[0]["limit"] == ["500"] and "continue" not in role_calls[0]
    first_page = json.loads((API / "apis_rbac.authorization.k8s.io_v1_clusterroles.json").read_text())
    assert role_calls[1]["continue"] == [first_page["metadata"]["continue"]]
    # the 403 kind is a warning naming the resource; everything else was listed
    assert not live.of_kind("Secret")
    [warning] = [w for w in live.warnings if "secrets" in w]
    assert "forbidden" in warning and "HTTP 403" in warning and "at the cluster scope" in warning
    assert len(live.warnings) == 1
    # only list verbs on the API (and GET /version): every request is a GET of a collection
    assert all(p.rstrip("/") == "/version" or "limit" in q for p, q in api_server.requests)


class _HugePage(_Api):
    """An API server whose pod list never ends (no Content-Length, chunked): the client must stop reading."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if not urlsplit(self.path).path.endswith("/pods"):
            return super().do_GET()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        piece = b'{"metadata": {"name": "p", "namespace": "default"}, "spec": {}},' * 1000
        try:
            self.wfile.write(b'%x\r\n{"kind":"PodList","items":[\r\n' % len(b'{"kind":"PodList","items":['))
            for _ in range(400):  # ~26 MB unless the client hangs up first
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.server.sent += len(piece)  # type: ignore[attr-defined]
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass


def test_live_page_over_the_byte_bound_is_a_warning(tmp_path, monkeypatch):
    from lashing.sources.cluster import live as live_module

    monkeypatch.setattr(live_module, "MAX_RESPONSE_BYTES", 2 << 20)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HugePage)
    server.requests, server.sent = [], 0  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        snap = fetch_live(str(_kubeconfig(tmp_path / "config", server.server_address[1])), kinds=("Pod", "Node"))
    finally:
        server.shutdown()
        server.server_close()
    assert not snap.of_kind("Pod")
    assert any("pods: a page larger than 2097152 bytes" in w for w in snap.warnings)
    assert server.sent < 12 << 20  # the client hung up: the 26 MB page was never read whole
    assert any(p.endswith("/nodes") for p, _ in server.requests)  # and the next list still worked


def test_live_objects_are_sanitized(live):
    for obj in live:
        assert "managedFields" not in obj.metadata
    config = live.get("ConfigMap", "web-config", "shop")
    assert config is not None and config.data["data"]["LOG_LEVEL"] == "info"
    assert "kubectl.kubernetes.io/last-applied-configuration" not in config.metadata.get("annotations", {})
    deployment = live.get("Deployment", "web", "shop")
    assert deployment.kind == "Deployment" and deployment.api_version == "apps/v1"  # kind filled in from the list
    assert deployment.location.path == "k8s://prod/Deployment/shop/web"


def test_written_snapshot_reads_back_the_same_and_gives_the_same_report(live, tmp_path):
    files = write_snapshot(live, tmp_path / "snap")
    assert sorted(p.name for p in files) == sorted({f"{o.kind}.yaml" for o in live if not o.builtin})
    again = load_snapshot(tmp_path / "snap")
    assert again.canonical() == live.canonical()
    assert not again.warnings

    def key(f):
        return (f.id, f.severity, f.title, tuple(sorted((k, v) for k, v in f.extra.items())))

    live_findings = sorted(map(key, analyze(live).findings))
    assert live_findings == sorted(map(key, analyze(again).findings))
    assert {(f[0], f[2]) for f in live_findings} == {
        ("LSH-RBAC-GRANT-SECRETS-READ", "Subject can read secrets: ServiceAccount:shop/web (in namespace shop)"),
        ("LSH-RBAC-GRANT-CREATE-WORKLOADS",
         "Subject can create or change pods and workloads: ServiceAccount:ci/deployer (cluster-wide)"),
        ("LSH-RBAC-GRANT-EXEC",
         "Subject can exec, attach or port-forward into pods: ServiceAccount:ci/deployer (cluster-wide)"),
        ("LSH-RBAC-GRANT-NODE-PROXY",
         "Subject can reach the kubelet through nodes/proxy: Group:monitoring-team (cluster-wide)"),
        # the Deployment, not its ReplicaSet or Pod; batch-once runs as worker, whose token is not mounted
        ("LSH-RBAC-SA-TOKEN-RISKY",
         "Workload mounts a service account token that holds risky rights: Deployment/shop/web as "
         "ServiceAccount:shop/web"),
    }


def test_written_files_locate_objects_by_line(live, tmp_path):
    write_snapshot(live, tmp_path)
    again = load_snapshot(tmp_path)
    binding = again.get("RoleBinding", "web-secrets", "shop")
    lines = (tmp_path / "RoleBinding.yaml").read_text().splitlines()
    assert lines[binding.location.line - 1].startswith(("apiVersion", "kind", "metadata"))
    subject_line = binding.location_of("subjects", 0).line
    assert "name: web" in lines[subject_line - 1] or "kind: ServiceAccount" in lines[subject_line - 1]


def test_rejected_credentials_are_one_line(api_server, tmp_path):
    config = _kubeconfig(tmp_path / "config", api_server.server_address[1], token="wrong")
    with pytest.raises(ClusterAccessError) as info:
        fetch_live(str(config))
    assert "401" in str(info.value) and "\n" not in str(info.value)


def test_unreachable_server_and_bad_kubeconfig(tmp_path):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ClusterAccessError, match="cannot reach the API server"):
        fetch_live(str(_kubeconfig(tmp_path / "config", port)))
    with pytest.raises(ClusterAccessError, match="kubeconfig"):
        fetch_live(str(tmp_path / "config"), context="no-such-context")
    (tmp_path / "junk").write_text("clusters: [[[\n")
    with pytest.raises(ClusterAccessError):
        fetch_live(str(tmp_path / "junk"))


def test_snapshot_command_writes_a_directory(api_server, tmp_path):
    config = _kubeconfig(tmp_path / "config", api_server.server_address[1])
    result = CliRunner().invoke(app, ["snapshot", "-o", str(tmp_path / "out"), "--kubeconfig", str(config)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "ClusterRole.yaml").is_file() and not (tmp_path / "out" / "Secret.yaml").exists()
    assert "24 objects of 11 kinds" in result.output


def test_kubectl_output_lists_and_secret_values_never_kept(tmp_path):
    (tmp_path / "secrets.yaml").write_text("""apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Secret
  metadata:
    name: db
    namespace: shop
    annotations:
      kubectl.kubernetes.io/last-applied-configuration: '{"data":{"password":"aHVudGVyMg=="}}'
      team: payments
  type: Opaque
  data: {password: aHVudGVyMg==}
  stringData: {token: plain}
- apiVersion: v1
  kind: ServiceAccount
  metadata: {name: web, namespace: shop}
metadata: {resourceVersion: ""}
""")
    snap = load_snapshot(tmp_path / "secrets.yaml", builtin=False)
    secret = snap.get("Secret", "db", "shop")
    assert dict(secret.data) == {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                                 "metadata": {"name": "db", "namespace": "shop", "annotations": {"team": "payments"}}}
    assert secret.location.line == 4 and snap.get("ServiceAccount", "web", "shop").location.line == 15
    written = write_snapshot(snap, tmp_path / "out")
    assert "aHVudGVyMg" not in "".join(p.read_text() for p in written)


def test_malformed_input_gives_warnings_not_tracebacks(tmp_path):
    (tmp_path / "bad.yaml").write_text("kind: Role\nmetadata: {name: [1, 2]}\n---\nkind: [\n")
    (tmp_path / "list.json").write_text('{"kind": "RoleList", "apiVersion": "rbac.authorization.k8s.io/v1", '
                                        '"items": [1, "x", {"metadata": {"name": "ok", "namespace": "a"}}, {}]}')
    (tmp_path / "bomb.yaml").write_text("a: &a [" + ",".join(["x"] * 100) + "]\n"
                                        + "".join(f"{c}: &{c} [" + ",".join([f"*{p}"] * 100) + "]\n"
                                                  for p, c in zip("abcd", "bcde", strict=True)))
    (tmp_path / "status.json").write_text('{"kind": "Status", "apiVersion": "v1", "message": "forbidden"}')
    (tmp_path / "binary.yml").write_bytes(b"\x00\xff\xfe" * 100)
    (tmp_path / "long.yaml").write_text(f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {'n' * 300}}}\n")
    (tmp_path / "plain.yaml").write_text("replicas: 3\nimage: web\n")  # a values file: not an object, no noise
    snap = load_snapshot(tmp_path, builtin=False)
    assert [o.ref for o in snap] == ["Role/a/ok"]
    text = "\n".join(snap.warnings)
    assert "bad.yaml" in text and "list.json" in text and "bomb.yaml" in text and "status.json" in text
    assert "long.yaml" in text and "plain.yaml" not in text
    with pytest.raises(UsageError):
        load_snapshot(tmp_path / "missing")


def test_builtin_roles_merge_unless_the_snapshot_has_its_own(tmp_path):
    empty = load_snapshot(tmp_path)
    for name in ("cluster-admin", "admin", "edit", "view", "system:basic-user", "system:discovery",
                 "system:public-info-viewer", "system:node-proxier", "system:kube-scheduler",
                 "system:kube-controller-manager", "system:node"):
        assert empty.get("ClusterRole", name).builtin, name
    assert empty.get("ClusterRoleBinding", "cluster-admin").data["subjects"][0]["name"] == "system:masters"
    assert empty.canonical() == []
    (tmp_path / "view.yaml").write_text("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
                                        "metadata: {name: view}\nrules: []\n")
    own = load_snapshot(tmp_path)
    assert not own.get("ClusterRole", "view").builtin and own.get("ClusterRole", "edit").builtin
    [written] = write_snapshot(own, tmp_path / "out")  # built-in objects are never written
    assert written.name == "ClusterRole.yaml" and written.read_text().count("name:") == 1
