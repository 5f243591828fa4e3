"""A real Docker registry (Debian's `docker-registry`, distribution 2.8) and a token server for tests.

`start_registry` runs the registry binary on 127.0.0.1 on a free port with its own config and storage
under a temporary directory, optionally behind htpasswd (bcrypt, `htpasswd -Bbn`) or token auth, and
waits until `/v2/` answers. Several registries may share one storage directory: images pushed to one
are served by all, so the auth variants need no second push. `TokenServer` issues RS256 JWTs (signed
with a key made by `cryptography`, its certificate in the registry's `rootcertbundle`) that the
registry verifies for real. `FrontServer` stands in front of a registry the way a CDN or a hostile
server does: it redirects blob downloads to the registry and serves crafted responses for chosen
paths (content a real registry refuses to store). `push_blob` / `put_manifest` speak the push API.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import secrets
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class RegistryServer:
    """One running registry process and the paths of its filesystem storage."""

    process: subprocess.Popen
    port: int
    storage: Path
    log: Path

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def _v2(self) -> Path:
        return self.storage / "docker" / "registry" / "v2"

    def blob_data(self, digest: str) -> Path:
        """The file holding a blob (layers, configs and manifests alike)."""
        algo, hexpart = digest.split(":", 1)
        return self._v2 / "blobs" / algo / hexpart[:2] / hexpart / "data"

    def tag_link(self, repo: str, tag: str) -> Path:
        return self._v2 / "repositories" / repo / "_manifests" / "tags" / tag / "current" / "link"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def make_htpasswd(path: Path, user: str, password: str) -> Path:
    """A bcrypt htpasswd file, as the registry requires, made by apache2-utils' `htpasswd`."""
    out = subprocess.run(["htpasswd", "-Bbn", user, password], capture_output=True, text=True, check=True)
    path.write_text(out.stdout.strip() + "\n")
    return path


def start_registry(
    workdir: Path,
    storage: Path,
    *,
    htpasswd: Path | None = None,
    token: TokenServer | None = None,
    realm: str | None = None,
    attempts: int = 5,
) -> RegistryServer:
    """Start `docker-registry serve` on a free 127.0.0.1 port and wait until `/v2/` answers."""
    workdir.mkdir(parents=True, exist_ok=True)
    storage.mkdir(parents=True, exist_ok=True)
    last_error = ""
    for attempt in range(attempts):
        port = free_port()
        config = {
            "version": 0.1,
            "log": {"level": "error", "accesslog": {"disabled": True}},
            "storage": {
                "filesystem": {"rootdirectory": str(storage)},
                "delete": {"enabled": True},
                "maintenance": {"uploadpurging": {"enabled": False}},
            },
            "http": {"addr": f"127.0.0.1:{port}", "secret": secrets.token_hex(16)},
            # Lets tests push a (signed) schema 1 manifest to prove the client rejects it.
            "compatibility": {"schema1": {"enabled": True}},
            # Foreign (non-distributable) layers whose blobs live at these URLs are accepted without the blob.
            "validation": {"manifests": {"urls": {"allow": [r"^https://foreign\.invalid/"]}}},
        }
        if htpasswd is not None:
            config["auth"] = {"htpasswd": {"realm": "lashing-test", "path": str(htpasswd)}}
        elif token is not None:
            config["auth"] = {
                "token": {
                    "realm": realm or token.realm,
                    "service": token.service,
                    "issuer": token.issuer,
                    "rootcertbundle": str(token.cert_path),
                }
            }
        config_path = workdir / f"config-{port}.yml"
        config_path.write_text(json.dumps(config))  # JSON is YAML
        log = workdir / f"registry-{port}.log"
        with open(log, "wb") as log_file:
            proc = subprocess.Popen(
                ["docker-registry", "serve", str(config_path)], stdout=log_file, stderr=subprocess.STDOUT
            )
        server = RegistryServer(proc, port, storage, log)
        if _wait_ready(server):
            return server
        server.stop()
        last_error = log.read_text(errors="replace")[-2000:]
        time.sleep(0.1 * (attempt + 1))
    raise RuntimeError(f"docker-registry did not start:\n{last_error}")


def _wait_ready(server: RegistryServer, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        try:
            if httpx.get(f"{server.url}/v2/", timeout=1.0).status_code in (200, 401):
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    return False


# -- push API ------------------------------------------------------------------------------------


def push_blob(base_url: str, repo: str, data: bytes, auth: httpx.Auth | None = None) -> str:
    """Monolithic blob upload (POST then PUT ?digest=); returns the digest."""
    digest = sha256_digest(data)
    with httpx.Client(base_url=base_url, auth=auth, timeout=10) as client:
        start = client.post(f"/v2/{repo}/blobs/uploads/")
        start.raise_for_status()
        location = start.headers["location"]
        sep = "&" if "?" in location else "?"
        done = client.put(
            f"{location}{sep}digest={digest}",
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        done.raise_for_status()
    return digest


def put_manifest(base_url: str, repo: str, ref: str, doc: dict | bytes, media_type: str) -> str:
    """PUT a manifest or index; returns its digest (the registry checks what it references exists)."""
    data = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    response = httpx.put(
        f"{base_url}/v2/{repo}/manifests/{ref}", content=data, headers={"Content-Type": media_type}, timeout=10
    )
    if response.status_code >= 400:
        raise RuntimeError(f"PUT manifest {repo}:{ref} failed: {response.status_code} {response.text}")
    return sha256_digest(data)


# -- token server --------------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class TokenServer:
    """Docker token auth server: GET (basic auth) and POST (OAuth2 refresh token) on /token."""

    workdir: Path
    users: dict[str, str]
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # refresh token -> subject
    service: str = "lashing-test-registry"
    issuer: str = "lashing-test-issuer"
    requests: list[dict] = field(default_factory=list)
    _httpd: ThreadingHTTPServer | None = None

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lashing test token issuer")])
        now = dt.datetime.now(dt.UTC)
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self._key, hashes.SHA256())
        )
        self.cert_path = self.workdir / "token-cert.pem"
        self.cert_path.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _token_handler(self))
        self.port = self._httpd.server_address[1]
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    def issue(self, subject: str, scopes: list[str]) -> str:
        """A signed JWT granting the requested repository actions."""
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            if kind == "repository" and name:
                access.append({"type": kind, "name": name, "actions": [a for a in actions.split(",") if a]})
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.service,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": secrets.token_hex(8),
            "access": access,
        }
        der = self._cert.public_bytes(serialization.Encoding.DER)
        header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der).decode()]}
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64url(signature)}"

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()


def _token_handler(server: TokenServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _reply(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            scopes = query.get("scope", [])
            user = self._basic_user()
            server.requests.append({"method": "GET", "user": user, "scopes": scopes, "service": query.get("service")})
            if user is None or query.get("service") != [server.service]:
                self._reply(401, {"details": "authentication required"})
                return
            self._reply(200, {"token": server.issue(user, scopes), "expires_in": 300})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode())
            scopes = form.get("scope", [])
            subject = server.refresh_tokens.get((form.get("refresh_token") or [""])[0])
            server.requests.append({"method": "POST", "user": subject, "scopes": scopes, "form": form})
            if form.get("grant_type") != ["refresh_token"] or subject is None:
                self._reply(401, {"error": "invalid_grant"})
                return
            self._reply(200, {"access_token": server.issue(subject, scopes), "expires_in": 300})

        def _basic_user(self) -> str | None:
            header = self.headers.get("Authorization") or ""
            if not header.startswith("Basic "):
                return None
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            return user if server.users.get(user) == password else None

    return Handler


# -- a server in front of the registry -----------------------------------------------------------


@dataclass
class FrontServer:
    """Redirects every request to `upstream` (307), except paths in `overrides` served as given."""

    upstream: str
    overrides: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _front_handler(self))
        self.port = self._httpd.server_address[1]
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def _front_handler(front: FrontServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            front.hits.append(self.path)
            override = front.overrides.get(self.path)
            if override is not None:
                status, headers, body = override
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            self.send_response(307)
            self.send_header("Location", front.upstream + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler
