"""Control-plane configuration: component flags (static pods, systemd units), kubelet and encryption configs.

Component targets (`apiserver`, `etcd`, `controller-manager`, `scheduler`) expose
`object.flags` (name without dashes -> value; a bare flag is "true"). The kubelet target exposes
`object.config`, a KubeletConfiguration with the v1beta1 defaults applied and command-line flags
folded in (flags win, as in the kubelet). EncryptionConfiguration exposes `object.resources`:
[{resources: [...], providers: ["identity", "aescbc", ...]}] in order.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator, Mapping
from typing import Any

from lashing.analyzers.config.podspec import as_bool, as_dict, as_int, as_list, as_str
from lashing.analyzers.config.target import FieldLine, Target
from lashing.analyzers.config.yamldoc import Document

COMPONENTS = {"kube-apiserver": "apiserver", "etcd": "etcd", "kube-controller-manager": "controller-manager",
              "kube-scheduler": "scheduler", "kubelet": "kubelet"}
CONFIG_KINDS = frozenset({"KubeletConfiguration", "EncryptionConfiguration", "EncryptionConfig",
                          "AdmissionConfiguration"})
ENCRYPTION_PROVIDERS = ("identity", "aescbc", "aesgcm", "secretbox", "kms")
# The CIS Kubernetes Benchmark's strong TLS cipher suites (1.2.31 API server, 4.2.13 kubelet); TLS 1.3 suites too.
STRONG_TLS_CIPHERS = frozenset({
    "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_256_GCM_SHA384",  # still in the CIS kubelet list
})


def weak_ciphers(suites: list[str]) -> list[str]:
    """The suites of `--tls-cipher-suites` / tlsCipherSuites outside the strong set (empty: none set)."""
    return [s for s in suites if s not in STRONG_TLS_CIPHERS]

# kubelet flag -> (dotted KubeletConfiguration field, type)
KUBELET_FLAGS: dict[str, tuple[str, str]] = {
    "anonymous-auth": ("authentication.anonymous.enabled", "bool"),
    "authentication-token-webhook": ("authentication.webhook.enabled", "bool"),
    "client-ca-file": ("authentication.x509.clientCAFile", "str"),
    "authorization-mode": ("authorization.mode", "str"),
    "read-only-port": ("readOnlyPort", "int"),
    "protect-kernel-defaults": ("protectKernelDefaults", "bool"),
    "make-iptables-util-chains": ("makeIPTablesUtilChains", "bool"),
    "event-qps": ("eventRecordQPS", "int"),
    "streaming-connection-idle-timeout": ("streamingConnectionIdleTimeout", "str"),
    "rotate-certificates": ("rotateCertificates", "bool"),
    "rotate-server-certificates": ("serverTLSBootstrap", "bool"),
    "tls-cert-file": ("tlsCertFile", "str"),
    "tls-private-key-file": ("tlsPrivateKeyFile", "str"),
    "tls-cipher-suites": ("tlsCipherSuites", "list"),
    "hostname-override": ("hostnameOverride", "str"),
}


_PATH_FLAG_SUFFIXES = ("-file", "-dir", "-path", "-certfile", "-keyfile")


def parse_flags(tokens: list[str]) -> dict[str, str]:
    """`--a=1 --b 2 --c` -> {"a": "1", "b": "2", "c": "true"}; non-flag words are ignored.

    A flag given an empty value (`--tls-cert-file=`) is left out: the component then uses its default,
    as if the flag were absent. So is a path flag with no value at all (`--tls-cert-file` followed by
    another flag): it names no file."""
    flags: dict[str, str] = {}
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if not token.startswith("-") or token in ("-", "--"):
            continue
        name, eq, value = token.lstrip("-").partition("=")
        if not eq:
            following = tokens[index] if index < len(tokens) else None
            if following is not None and not following.startswith("-"):
                value, index = following, index + 1
            elif name.endswith(_PATH_FLAG_SUFFIXES):
                value = ""
            else:
                value = "true"
        if value.strip():
            flags[name] = value.strip()
        else:
            flags.pop(name, None)
    return flags


def component_of(command: list[str]) -> str | None:
    """The control-plane component a command runs (its binary's base name), or None."""
    for token in command[:3]:
        base = token.rsplit("/", 1)[-1]
        if base in COMPONENTS:
            return COMPONENTS[base]
    return None


def _set(config: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for key in parents:
        config = config.setdefault(key, {})
    config[last] = value


def kubelet_config(raw: Mapping[str, Any], flags: Mapping[str, str]) -> dict[str, Any]:
    """Effective KubeletConfiguration: v1beta1 defaults, then the file's values, then the flags."""
    raw = as_dict(raw)
    auth, authz = as_dict(raw.get("authentication")), as_dict(raw.get("authorization"))
    gates = as_dict(raw.get("featureGates"))
    config: dict[str, Any] = {
        "authentication": {
            "anonymous": {"enabled": as_bool(as_dict(auth.get("anonymous")).get("enabled")) or False},
            "webhook": {"enabled": as_bool(as_dict(auth.get("webhook")).get("enabled")) is not False},
            "x509": {"clientCAFile": as_str(as_dict(auth.get("x509")).get("clientCAFile"))},
        },
        "authorization": {"mode": as_str(authz.get("mode")) or "Webhook"},
        "readOnlyPort": as_int(raw.get("readOnlyPort")) or 0,
        "protectKernelDefaults": as_bool(raw.get("protectKernelDefaults")) or False,
        "makeIPTablesUtilChains": as_bool(raw.get("makeIPTablesUtilChains")) is not False,
        "eventRecordQPS": as_int(raw.get("eventRecordQPS")) if raw.get("eventRecordQPS") is not None else 50,
        "streamingConnectionIdleTimeout": as_str(raw.get("streamingConnectionIdleTimeout")) or "4h0m0s",
        "rotateCertificates": as_bool(raw.get("rotateCertificates")) or False,
        "serverTLSBootstrap": as_bool(raw.get("serverTLSBootstrap")) or False,
        "tlsCertFile": as_str(raw.get("tlsCertFile")),
        "tlsPrivateKeyFile": as_str(raw.get("tlsPrivateKeyFile")),
        "tlsCipherSuites": [str(s) for s in as_list(raw.get("tlsCipherSuites"))],
        "hostnameOverride": None,
        "featureGates": {str(k): bool(as_bool(v)) for k, v in gates.items()},
    }
    for flag, value in flags.items():
        if flag in KUBELET_FLAGS:
            dotted, kind = KUBELET_FLAGS[flag]
            converted: Any = {"bool": as_bool, "int": as_int, "str": str,
                              "list": lambda v: [s for s in v.split(",") if s]}[kind](value)
            if converted is not None:
                _set(config, dotted, converted)
        elif flag == "feature-gates":
            for pair in value.split(","):
                name, _, setting = pair.partition("=")
                config["featureGates"][name.strip()] = as_bool(setting) is True
    return config


def _flag_lines(doc: Document, prefix: tuple, tokens_field: str, tokens: list[str]) -> dict[str, int]:
    lines = {}
    for index, token in enumerate(tokens):
        if token.startswith("-"):
            line = doc.lines.get((*prefix, tokens_field, index))
            if line is not None:
                lines[token.lstrip("-").partition("=")[0]] = line
    return lines


def component_target(path: str, component: str, flags: dict[str, str], flag_lines: Mapping[str, int],
                     line: int | None, resource: str, annotations: Mapping[str, Any], source: str) -> Target:
    """A target for one component's flags (kubelet: its effective configuration)."""
    data: dict[str, Any] = {"kind": component, "flags": flags}
    suites = [c.strip() for c in flags.get("tls-cipher-suites", "").split(",") if c.strip()]
    if component == "kubelet":
        data["config"] = kubelet_config({}, flags)
        suites = data["config"]["tlsCipherSuites"]
    data["weakCipherSuites"] = weak_ciphers(suites)

    def field_line(field: str) -> int | None:
        name = field.removeprefix("flags.")
        return flag_lines.get(name, line)

    return Target(component, path, resource, data, line, None, field_line, annotations=annotations, source=source)


def image_component(image: str | None) -> str | None:
    """The component an image ships (`registry.k8s.io/kube-apiserver-amd64:v1.30` -> apiserver)."""
    if not image:
        return None
    base = image.rsplit("/", 1)[-1].split(":")[0].split("@")[0]
    for binary, component in COMPONENTS.items():
        if base == binary or base.startswith(binary + "-"):
            return component
    return None


def static_pod_targets(path: str, pod: Target, obj: dict, doc: Document, prefix: tuple,
                       spec_path: tuple[str, ...] = ("spec",)) -> Iterator[Target]:
    """Control-plane targets for the containers of a (static) pod that run a component with flags."""
    spec = as_dict(obj)
    for key in spec_path:
        spec = as_dict(spec.get(key))
    for index, raw in enumerate(as_list(spec.get("containers"))):
        raw = as_dict(raw)
        command = [str(x) for x in as_list(raw.get("command"))]
        args = [str(x) for x in as_list(raw.get("args"))]
        component = component_of(command or args) or component_of(args)
        runs_entrypoint = not command or command[0].startswith("-")  # the image's own binary gets the flags
        if component is None and runs_entrypoint and any(t.startswith("--") for t in command + args):
            component = image_component(as_str(raw.get("image")))  # e.g. args only, on an etcd image
        if component is None:
            continue
        c_prefix = (*prefix, *spec_path, "containers", index)
        lines = {**_flag_lines(doc, c_prefix, "args", args), **_flag_lines(doc, c_prefix, "command", command)}
        yield component_target(path, component, parse_flags([*command, *args]), lines,
                               doc.lines.get(c_prefix, pod.line), pod.resource, pod.annotations, "kubernetes")


def config_target(path: str, obj: dict[str, Any], line: int | None, field_line: FieldLine,
                  annotations: Mapping[str, Any]) -> Target:
    """KubeletConfiguration, AdmissionConfiguration or EncryptionConfiguration as a target."""
    from lashing.analyzers.config.kubernetes import resource_name

    if obj.get("kind") == "KubeletConfiguration":
        data = {"kind": "kubelet", "flags": {}, "config": kubelet_config(obj, {})}
        data["weakCipherSuites"] = weak_ciphers(data["config"]["tlsCipherSuites"])
        return Target("kubelet", path, resource_name(obj), data, line, None, field_line, annotations=annotations)
    if obj.get("kind") == "AdmissionConfiguration":  # the file --admission-control-config-file names
        plugins = [as_str(as_dict(p).get("name")) or "" for p in as_list(obj.get("plugins"))]
        data = {"kind": "AdmissionConfiguration", "plugins": [p for p in plugins if p]}
        return Target("admission-config", path, resource_name(obj), data, line, None, field_line,
                      annotations=annotations)
    resources = []
    for entry in as_list(obj.get("resources")):
        entry = as_dict(entry)
        providers = []
        for provider in as_list(entry.get("providers")):
            names = [k for k in as_dict(provider) if k in ENCRYPTION_PROVIDERS] or list(as_dict(provider))
            providers.extend(str(n) for n in names[:1])
        resources.append({"resources": [str(r) for r in as_list(entry.get("resources"))], "providers": providers})
    data = {"kind": "EncryptionConfiguration", "resources": resources}
    return Target("encryption-config", path, resource_name(obj), data, line, None, field_line,
                  annotations=annotations)


_EXEC_START = re.compile(r"^\s*ExecStart\s*=\s*(.*)$")


def systemd_targets(path: str, text: str) -> Iterator[Target]:
    """Component targets from a systemd unit's `ExecStart=` (with `\\` continuations)."""
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        match = _EXEC_START.match(lines[index])
        start = index
        index += 1
        if not match or not match.group(1).strip():
            continue
        parts = [(start + 1, match.group(1))]
        while parts[-1][1].rstrip().endswith("\\") and index < len(lines):
            parts[-1] = (parts[-1][0], parts[-1][1].rstrip()[:-1])
            parts.append((index + 1, lines[index]))
            index += 1
        tokens: list[str] = []
        flag_lines: dict[str, int] = {}
        for line_no, chunk in parts:
            try:
                words = shlex.split(chunk, comments=False)
            except ValueError:
                words = chunk.split()
            for word in words:
                if word.startswith("-"):
                    flag_lines.setdefault(word.lstrip("-").partition("=")[0], line_no)
            tokens.extend(words)
        component = component_of([t.lstrip("-@+!:") for t in tokens])
        if component is not None:
            resource = f"systemd:{path.rsplit('/', 1)[-1]}"
            yield component_target(path, component, parse_flags(tokens), flag_lines, start + 1, resource, {},
                                   "systemd")
