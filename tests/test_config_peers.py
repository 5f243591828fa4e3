"""The peers' labelled cases (corpus config-peers) as a second opinion on the rules.

Checkov: `example_<Check>/...-PASSED|FAILED.yaml`; trivy-checks: `checks/kubernetes/<check>.yaml` with
good/bad lists; Polaris: `test/checks/<check>/success|failure*.yaml`; kube-linter: `tests/checks/<check>.yml`,
one case per object (named `dont-fire...` when it must not fire). A FAILED/bad case must raise one of
our rules mapped to that concept; a PASSED/good case must raise none of them. Floors and ceilings below
were measured, see the deliberate differences noted.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
import yaml

from lashing.analyzers.config import scan_content

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "config-peers"

# peer check -> our rules for that concept (peer ids are facts; mapping is ours)
CHECKOV = {
    "AllowPrivilegeEscalation": {"LSH-K8S-PRIV-ESCALATION"}, "AllowedCapabilitiesSysAdmin": {"LSH-K8S-CAP-SYS-ADMIN"},
    "AllowedCapabilities": {"LSH-K8S-CAP-ADDED"}, "DropCapabilities": {"LSH-K8S-CAP-NET-RAW"},
    "PrivilegedContainers": {"LSH-K8S-PRIVILEGED"}, "ReadOnlyFilesystem": {"LSH-K8S-WRITABLE-ROOTFS"},
    "RootContainers": {"LSH-K8S-RUN-AS-ROOT"}, "RootContainersHighUID": {"LSH-K8S-LOW-UID"},
    "Seccomp": {"LSH-K8S-SECCOMP"}, "ShareHost": {"LSH-K8S-HOST-PID", "LSH-K8S-HOST-IPC"},
    "HostPort": {"LSH-K8S-HOST-PORT"}, "DockerSocketVolume": {"LSH-K8S-RUNTIME-SOCKET"},
    "ImageDigest": {"LSH-K8S-IMAGE-NO-DIGEST"}, "ImageTagFixed": {"LSH-K8S-IMAGE-LATEST"},
    "ImagePullPolicy": {"LSH-K8S-PULL-POLICY"}, "LivenessReadiness": {"LSH-K8S-LIVENESS-PROBE",
                                                                       "LSH-K8S-READINESS-PROBE"},
    "ServiceAccountTokens": {"LSH-K8S-SA-TOKEN-AUTOMOUNT"}, "DefaultServiceAccountBinding":
        {"LSH-RBAC-DEFAULT-SA-BINDING"}, "WildcardRoles": {"LSH-RBAC-WILDCARD"},
    "RbacBindRoleBindings": {"LSH-RBAC-ESCALATE-BIND"}, "RbacEscalateRoles": {"LSH-RBAC-ESCALATE-BIND"},
    "RbacControlWebhooks": {"LSH-RBAC-WEBHOOK-CONFIG"}, "RbacApproveCertificateSigningRequests":
        {"LSH-RBAC-CSR-APPROVE"},
    "ApiServerAnonymousAuth": {"LSH-APISERVER-ANONYMOUS-AUTH"}, "ApiServerTokenAuthFile":
        {"LSH-APISERVER-TOKEN-AUTH-FILE"}, "ApiServerBasicAuthFile": {"LSH-APISERVER-BASIC-AUTH-FILE"},
    "ApiServerKubeletHttps": {"LSH-APISERVER-KUBELET-HTTPS"}, "ApiServerKubeletClientCertAndKey":
        {"LSH-APISERVER-KUBELET-CLIENT-CERT"}, "ApiServerkubeletCertificateAuthority": {"LSH-APISERVER-KUBELET-CA"},
    "ApiServerAuthorizationModeNotAlwaysAllow": {"LSH-APISERVER-AUTHZ-ALWAYS-ALLOW"},
    "ApiServerAuthorizationModeNode": {"LSH-APISERVER-AUTHZ-NODE"},
    "ApiServerAuthorizationModeRBAC": {"LSH-APISERVER-AUTHZ-RBAC"},
    "ApiServerAdmissionControlAlwaysAdmit": {"LSH-APISERVER-ALWAYS-ADMIT"},
    "ApiServerAdmissionControlEventRateLimit": {"LSH-APISERVER-EVENT-RATE-LIMIT", "LSH-ADMISSION-EVENT-RATE-LIMIT"},
    "ApiServerAlwaysPullImagesPlugin": {"LSH-APISERVER-ALWAYS-PULL-IMAGES"},
    "ApiServerNodeRestrictionPlugin": {"LSH-APISERVER-NODE-RESTRICTION"},
    "ApiServerServiceAccountPlugin": {"LSH-APISERVER-SA-PLUGIN-DISABLED"},
    "ApiServerNamespaceLifecyclePlugin": {"LSH-APISERVER-NS-LIFECYCLE-DISABLED"},
    "ApiServerInsecureBindAddress": {"LSH-APISERVER-INSECURE-BIND"}, "ApiServerInsecurePort":
        {"LSH-APISERVER-INSECURE-PORT"}, "ApiServerSecurePort": {"LSH-APISERVER-SECURE-PORT-ZERO"},
    "ApiServerProfiling": {"LSH-APISERVER-PROFILING"}, "ApiServerAuditLog": {"LSH-APISERVER-AUDIT-LOG"},
    "ApiServerAuditLogMaxAge": {"LSH-APISERVER-AUDIT-MAXAGE"}, "ApiServerAuditLogMaxBackup":
        {"LSH-APISERVER-AUDIT-MAXBACKUP"}, "ApiServerAuditLogMaxSize": {"LSH-APISERVER-AUDIT-MAXSIZE"},
    "ApiServerServiceAccountLookup": {"LSH-APISERVER-SA-LOOKUP"}, "ApiServerServiceAccountKeyFile":
        {"LSH-APISERVER-SA-KEY-FILE"}, "ApiServerEtcdCertAndKey": {"LSH-APISERVER-ETCD-CERTS"},
    "ApiServerEtcdCaFile": {"LSH-APISERVER-ETCD-CA"}, "ApiServerTlsCertAndKey": {"LSH-APISERVER-TLS-CERT"},
    "ApiServerEncryptionProviders": {"LSH-APISERVER-ENCRYPTION-CONFIG"},
    "KubeControllerManagerBlockProfiles": {"LSH-CONTROLLER-PROFILING"},
    "KubeControllerManagerServiceAccountCredentials": {"LSH-CONTROLLER-SA-CREDENTIALS"},
    "KubeControllerManagerServiceAccountPrivateKeyFile": {"LSH-CONTROLLER-SA-PRIVATE-KEY"},
    "KubeControllerManagerRootCAFile": {"LSH-CONTROLLER-ROOT-CA"},
    "ControllerManagerBindAddress": {"LSH-CONTROLLER-BIND-ADDRESS"},
    "SchedulerProfiling": {"LSH-SCHEDULER-PROFILING"}, "SchedulerBindAddress": {"LSH-SCHEDULER-BIND-ADDRESS"},
    "EtcdCertAndKey": {"LSH-ETCD-TLS"}, "EtcdClientCertAuth": {"LSH-ETCD-CLIENT-CERT-AUTH"},
    "EtcdAutoTls": {"LSH-ETCD-AUTO-TLS"}, "EtcdPeerFiles": {"LSH-ETCD-PEER-TLS"},
    "PeerClientCertAuthTrue": {"LSH-ETCD-PEER-CLIENT-CERT-AUTH"},
    "KubeletAnonymousAuth": {"LSH-KUBELET-ANONYMOUS-AUTH"},
    "KubeletAuthorizationModeNotAlwaysAllow": {"LSH-KUBELET-AUTHZ-ALWAYS-ALLOW"},
    "KubeletClientCa": {"LSH-KUBELET-CLIENT-CA"}, "KubeletReadOnlyPort": {"LSH-KUBELET-READ-ONLY-PORT"},
    "KubeletStreamingConnectionIdleTimeout": {"LSH-KUBELET-STREAMING-TIMEOUT"},
    "KubeletProtectKernelDefaults": {"LSH-KUBELET-PROTECT-KERNEL-DEFAULTS"},
    "KubeletMakeIptablesUtilChains": {"LSH-KUBELET-IPTABLES-CHAINS"},
    "KubeletHostnameOverride": {"LSH-KUBELET-HOSTNAME-OVERRIDE"},
    "KubletRotateCertificates": {"LSH-KUBELET-ROTATE-CERTS"},
    "DefaultNamespace": {"LSH-K8S-DEFAULT-NAMESPACE"},
    "ApiServerStrongCryptographicCiphers": {"LSH-APISERVER-WEAK-CIPHERS"},
    "KubeletCryptographicCiphers": {"LSH-KUBELET-WEAK-CIPHERS"},
    "KubeControllerManagerTerminatedPods": {"LSH-CONTROLLER-TERMINATED-POD-GC"},
    "KubeletKeyFilesSetAppropriate": {"LSH-KUBELET-TLS-CERT"},
    "RotateKubeletServerCertificate": {"LSH-CONTROLLER-ROTATE-SERVER-CERT", "LSH-KUBELET-ROTATE-SERVER-CERT"},
    "DefaultServiceAccount": {"LSH-K8S-DEFAULT-SA-AUTOMOUNT"}, "Secrets": {"LSH-K8S-SECRET-ENV-REF"},
    "Tiller": {"LSH-K8S-TILLER"}, "KubernetesDashboard": {"LSH-K8S-DASHBOARD"},
}
TRIVY = {
    "privileged": {"LSH-K8S-PRIVILEGED"}, "can_elevate_its_own_privileges": {"LSH-K8S-PRIV-ESCALATION"},
    "host_pid": {"LSH-K8S-HOST-PID"}, "host_ipc": {"LSH-K8S-HOST-IPC"}, "host_network": {"LSH-K8S-HOST-NETWORK"},
    "hostpath_volumes_mounted": {"LSH-K8S-HOSTPATH"}, "mounts_docker_socket": {"LSH-K8S-RUNTIME-SOCKET"},
    "runs_as_root": {"LSH-K8S-RUN-AS-ROOT"}, "runs_with_UID_le_10000": {"LSH-K8S-LOW-UID"},
    "runs_with_GID_le_10000": {"LSH-K8S-LOW-GID"}, "capabilities_no_drop_all": {"LSH-K8S-CAPS-NO-DROP-ALL"},
    "SYS_ADMIN_capability": {"LSH-K8S-CAP-SYS-ADMIN"}, "specific_capabilities_added": {"LSH-K8S-CAP-DANGEROUS"},
    "file_system_not_read_only": {"LSH-K8S-WRITABLE-ROOTFS"}, "CPU_not_limited": {"LSH-K8S-CPU-LIMIT"},
    "CPU_requests_not_specified": {"LSH-K8S-CPU-REQUEST"}, "memory_not_limited": {"LSH-K8S-MEMORY-LIMIT"},
    "memory_requests_not_specified": {"LSH-K8S-MEMORY-REQUEST"},
    "runtime_default_seccomp_profile_not_set": {"LSH-K8S-SECCOMP"},
    "apparmor_policy_disabled": {"LSH-K8S-APPARMOR-UNCONFINED"}, "selinux_custom_options_set":
        {"LSH-K8S-SELINUX-CUSTOM"}, "non_default_proc_masks_set": {"LSH-K8S-PROC-MOUNT"},
    "unsafe_sysctl_options_set": {"LSH-K8S-UNSAFE-SYSCTL"}, "uses_image_tag_latest": {"LSH-K8S-IMAGE-LATEST"},
    "access_to_host_ports": {"LSH-K8S-HOST-PORT"}, "protecting_pod_service_account_tokens":
        {"LSH-K8S-SA-TOKEN-AUTOMOUNT"}, "configMap_with_secrets": {"LSH-K8S-SECRET-CONFIGMAP"},
}

# Polaris checks with the same meaning as one of ours. Left out on purpose: its exec/attach and
# cluster-admin checks exempt roles by name (system:*, gce:*, admin) and judge bindings through the role
# they point at (the cluster scan's RBAC analysis does that, not the per-file rules); insecureCapabilities
# and linuxHardening accept partial lists where ours want `drop: [ALL]`; the rest are not security checks.
POLARIS = {
    "automountServiceAccountToken": {"LSH-K8S-SA-TOKEN-AUTOMOUNT"}, "cpuLimitsMissing": {"LSH-K8S-CPU-LIMIT"},
    "cpuRequestsMissing": {"LSH-K8S-CPU-REQUEST"}, "memoryLimitsMissing": {"LSH-K8S-MEMORY-LIMIT"},
    "memoryRequestsMissing": {"LSH-K8S-MEMORY-REQUEST"},
    "dangerousCapabilities": {"LSH-K8S-CAP-DANGEROUS", "LSH-K8S-CAP-SYS-ADMIN"},
    "hostIPCSet": {"LSH-K8S-HOST-IPC"}, "hostNetworkSet": {"LSH-K8S-HOST-NETWORK"}, "hostPIDSet": {"LSH-K8S-HOST-PID"},
    "hostPathSet": {"LSH-K8S-HOSTPATH"}, "hostPortSet": {"LSH-K8S-HOST-PORT"},
    "livenessProbeMissing": {"LSH-K8S-LIVENESS-PROBE"}, "readinessProbeMissing": {"LSH-K8S-READINESS-PROBE"},
    "notReadOnlyRootFilesystem": {"LSH-K8S-WRITABLE-ROOTFS"},
    "privilegeEscalationAllowed": {"LSH-K8S-PRIV-ESCALATION"}, "procMount": {"LSH-K8S-PROC-MOUNT"},
    "pullPolicyNotAlways": {"LSH-K8S-PULL-POLICY"}, "runAsPrivileged": {"LSH-K8S-PRIVILEGED"},
    "runAsRootAllowed": {"LSH-K8S-RUN-AS-ROOT"}, "sensitiveConfigmapContent": {"LSH-K8S-SECRET-CONFIGMAP"},
    "sensitiveContainerEnvVar": {"LSH-K8S-SECRET-ENV"}, "tagNotSpecified": {"LSH-K8S-IMAGE-LATEST"},
}
# kube-linter checks with the same meaning as one of ours (left out: drop-net-raw-capability fires on
# *adding* NET_RAW, ours on not dropping it; checks about bindings judge the role they point at).
KUBE_LINTER = {
    "docker-sock": {"LSH-K8S-RUNTIME-SOCKET"}, "sensitive-host-mounts": {"LSH-K8S-HOSTPATH-SENSITIVE"},
    "privileged-container": {"LSH-K8S-PRIVILEGED"}, "privilege-escalation-container": {"LSH-K8S-PRIV-ESCALATION"},
    "writable-host-mount": {"LSH-K8S-HOSTPATH"}, "unset-cpu-requirements": {"LSH-K8S-CPU-REQUEST", "LSH-K8S-CPU-LIMIT"},
    "unset-memory-requirements": {"LSH-K8S-MEMORY-REQUEST", "LSH-K8S-MEMORY-LIMIT"},
    "no-read-only-root-fs": {"LSH-K8S-WRITABLE-ROOTFS"}, "no-readiness-probe": {"LSH-K8S-READINESS-PROBE"},
    "no-liveness-probe": {"LSH-K8S-LIVENESS-PROBE"}, "latest-tag": {"LSH-K8S-IMAGE-LATEST"},
    "unsafe-proc-mount": {"LSH-K8S-PROC-MOUNT"}, "host-pid": {"LSH-K8S-HOST-PID"},
    "host-network": {"LSH-K8S-HOST-NETWORK"}, "use-namespace": {"LSH-K8S-DEFAULT-NAMESPACE"},
    "cluster-admin-role-binding": {"LSH-RBAC-CLUSTER-ADMIN-BINDING"},
    "run-as-non-root": {"LSH-K8S-RUN-AS-ROOT", "LSH-K8S-ROOT-GROUP"}, "env-var-secret": {"LSH-K8S-SECRET-ENV"},
    "wildcard-in-rules": {"LSH-RBAC-WILDCARD"}, "ssh-port": {"LSH-K8S-SSH-PORT"},
    "access-to-secrets": {"LSH-RBAC-SECRETS-READ"}, "access-to-create-pods": {"LSH-RBAC-CREATE-WORKLOADS"},
    "read-secret-from-env-var": {"LSH-K8S-SECRET-ENV-REF"},
}

# kubeaudit's fixtures whose names state a verdict without its override labels (`*-allowed` files are
# left out: they test kubeaudit's own exemption labels). Left out on purpose: seccomp-disabled-pod sets
# Unconfined on the pod but RuntimeDefault on its only container, so the container is confined.
KUBEAUDIT = {  # fixture (auditor/file) -> (our rules, must fire); the file names state the verdict
    "apparmor/apparmor-disabled.yml": ({"LSH-K8S-APPARMOR-UNCONFINED"}, True),
    "apparmor/apparmor-bad-value.yml": ({"LSH-K8S-APPARMOR-UNCONFINED"}, True),
    "apparmor/apparmor-enabled.yml": ({"LSH-K8S-APPARMOR-UNCONFINED"}, False),
    "hostns/host-ipc-true.yml": ({"LSH-K8S-HOST-IPC"}, True),
    "hostns/host-network-true.yml": ({"LSH-K8S-HOST-NETWORK"}, True),
    "hostns/host-pid-true.yml": ({"LSH-K8S-HOST-PID"}, True),
    "hostns/namespaces-all-true.yml": ({"LSH-K8S-HOST-PID"}, True),
    "image/image-tag-missing.yml": ({"LSH-K8S-IMAGE-LATEST"}, True),
    "image/image-tag-present.yml": ({"LSH-K8S-IMAGE-LATEST"}, False),
    "limits/resources-limit-nil.yml": ({"LSH-K8S-CPU-LIMIT", "LSH-K8S-MEMORY-LIMIT"}, True),
    "limits/resources-limit-no-cpu.yml": ({"LSH-K8S-CPU-LIMIT"}, True),
    "limits/resources-limit-no-memory.yml": ({"LSH-K8S-MEMORY-LIMIT"}, True),
    "limits/resources-limit.yml": ({"LSH-K8S-CPU-LIMIT", "LSH-K8S-MEMORY-LIMIT"}, False),
    "mounts/docker-sock-mounted.yml": ({"LSH-K8S-RUNTIME-SOCKET"}, True),
    "mounts/proc-mounted.yml": ({"LSH-K8S-HOSTPATH-SENSITIVE"}, True),
    "nonroot/run-as-non-root-false.yml": ({"LSH-K8S-RUN-AS-ROOT"}, True),
    "nonroot/run-as-non-root-nil.yml": ({"LSH-K8S-RUN-AS-ROOT"}, True),
    "nonroot/run-as-non-root-psc-true-csc-false.yml": ({"LSH-K8S-RUN-AS-ROOT"}, True),
    "nonroot/run-as-non-root-psc-false-csc-true.yml": ({"LSH-K8S-RUN-AS-ROOT"}, False),
    "privesc/allow-privilege-escalation-nil.yml": ({"LSH-K8S-PRIV-ESCALATION"}, True),
    "privesc/allow-privilege-escalation-true.yml": ({"LSH-K8S-PRIV-ESCALATION"}, True),
    "privileged/privileged-true.yml": ({"LSH-K8S-PRIVILEGED"}, True),
    "privileged/privileged-nil.yml": ({"LSH-K8S-PRIVILEGED"}, False),
    "rootfs/read-only-root-filesystem-false.yml": ({"LSH-K8S-WRITABLE-ROOTFS"}, True),
    "rootfs/read-only-root-filesystem-nil.yml": ({"LSH-K8S-WRITABLE-ROOTFS"}, True),
    "seccomp/seccomp-disabled.yml": ({"LSH-K8S-SECCOMP-UNCONFINED", "LSH-K8S-SECCOMP"}, True),
    "seccomp/seccomp-disabled-localhost.yml": ({"LSH-K8S-SECCOMP-UNCONFINED", "LSH-K8S-SECCOMP"}, True),
    "seccomp/seccomp-enabled.yml": ({"LSH-K8S-SECCOMP-UNCONFINED", "LSH-K8S-SECCOMP"}, False),
    "seccomp/seccomp-enabled-pod.yml": ({"LSH-K8S-SECCOMP-UNCONFINED", "LSH-K8S-SECCOMP"}, False),
    "seccomp/seccomp-profile-missing.yml": ({"LSH-K8S-SECCOMP"}, True),
    "capabilities/capabilities-added.yml": ({"LSH-K8S-CAP-ADDED"}, True),
    "capabilities/capabilities-dropped-all.yml": ({"LSH-K8S-CAPS-NO-DROP-ALL"}, False),
    "capabilities/capabilities-nil.yml": ({"LSH-K8S-CAPS-NO-DROP-ALL"}, True),
    "capabilities/capabilities-some-dropped.yml": ({"LSH-K8S-CAPS-NO-DROP-ALL"}, True),
}

# kube-score's testdata with a verdict in the name. Left out on purpose: pod-seccomp-annotated carries
# `seccomp.security.alpha.kubernetes.io/defaultProfileName`, a PodSecurityPolicy annotation that does
# nothing on a Pod (the pod annotation is `.../pod`), so the pod has no seccomp profile.
_UID_GID = {"LSH-K8S-LOW-UID", "LSH-K8S-LOW-GID"}
KUBE_SCORE = {  # testdata file -> (our rules, must fire); the file names state the verdict
    "pod-image-pullpolicy-always.yaml": ({"LSH-K8S-PULL-POLICY"}, False),
    "pod-image-pullpolicy-undefined-latest-tag.yaml": ({"LSH-K8S-PULL-POLICY"}, False),
    "pod-image-pullpolicy-undefined-no-tag.yaml": ({"LSH-K8S-PULL-POLICY"}, False),
    "pod-image-pullpolicy-undefined.yaml": ({"LSH-K8S-PULL-POLICY"}, True),
    "pod-image-pullpolicy-never.yaml": ({"LSH-K8S-PULL-POLICY"}, True),
    "pod-image-tag-fixed.yaml": ({"LSH-K8S-IMAGE-LATEST"}, False),
    "pod-image-tag-latest.yaml": ({"LSH-K8S-IMAGE-LATEST"}, True),
    "pod-probes-missing-live.yaml": ({"LSH-K8S-LIVENESS-PROBE"}, True),
    "pod-probes-missing-ready.yaml": ({"LSH-K8S-READINESS-PROBE"}, True),
    "pod-probes-both.yaml": ({"LSH-K8S-LIVENESS-PROBE", "LSH-K8S-READINESS-PROBE"}, False),
    "pod-seccomp-no-annotation.yaml": ({"LSH-K8S-SECCOMP"}, True),
    "pod-seccomp-securecontext-ok.yaml": ({"LSH-K8S-SECCOMP"}, False),
    "pod-seccomp-container-securecontext-ok.yaml": ({"LSH-K8S-SECCOMP"}, False),
    "pod-seccomp-securecontext-warning.yaml": ({"LSH-K8S-SECCOMP", "LSH-K8S-SECCOMP-UNCONFINED"}, True),
    "pod-seccomp-container-securecontext-warning.yaml": ({"LSH-K8S-SECCOMP", "LSH-K8S-SECCOMP-UNCONFINED"}, True),
    "pod-security-context-all-good.yaml": (
        {"LSH-K8S-RUN-AS-ROOT", "LSH-K8S-PRIVILEGED", "LSH-K8S-WRITABLE-ROOTFS"} | _UID_GID, False),
    "pod-security-context-high-ids.yaml": (_UID_GID, False),
    "pod-security-context-low-group-id.yaml": ({"LSH-K8S-LOW-GID"}, True),
    "pod-security-context-low-user-id.yaml": ({"LSH-K8S-LOW-UID"}, True),
    "pod-security-context-nosecuritycontext.yaml": ({"LSH-K8S-RUN-AS-ROOT"}, True),
    "pod-security-context-privileged.yaml": ({"LSH-K8S-PRIVILEGED"}, True),
    "pod-security-context-writeablerootfilesystem.yaml": ({"LSH-K8S-WRITABLE-ROOTFS"}, True),
    "security-inherit-pod-security-context.yaml": ({"LSH-K8S-RUN-AS-ROOT"} | _UID_GID, False),
    "pod-test-resources-none.yaml": ({"LSH-K8S-CPU-LIMIT", "LSH-K8S-MEMORY-LIMIT"}, True),
    "pod-test-resources-no-limits.yaml": ({"LSH-K8S-CPU-LIMIT", "LSH-K8S-MEMORY-LIMIT"}, True),
    "pod-test-resources-limits-and-requests.yaml": (
        {"LSH-K8S-CPU-LIMIT", "LSH-K8S-MEMORY-LIMIT", "LSH-K8S-CPU-REQUEST", "LSH-K8S-MEMORY-REQUEST"}, False),
    "pod-test-resources-limits-and-requests-no-cpu-limit.yaml": ({"LSH-K8S-CPU-LIMIT"}, True),
    "pod-test-resources-only-limits.yaml": ({"LSH-K8S-CPU-REQUEST", "LSH-K8S-MEMORY-REQUEST"}, False),
}


def _ids(name: str, content: bytes) -> set[str]:
    return {f.id for f in scan_content(name, content).findings}


def checkov_cases() -> list[tuple[str, bool, set[str], set[str]]]:
    """(case name, expected to fail, our rules for the concept, ids we raised)."""
    cases = []
    with zipfile.ZipFile(CORPUS / "checkov-tests.zip") as archive:
        for name in archive.namelist():
            match = re.match(r"tests/kubernetes/checks/example_(\w+)/(.+)\.(ya?ml|json)$", name)
            if not match or match.group(1) not in CHECKOV:
                continue
            label = re.search(r"(PASSED|FAILED)", match.group(2))
            if label is None or ("PASSED" in match.group(2) and "FAILED" in match.group(2)):
                continue  # unlabelled, or one file mixing passing and failing objects
            ids = _ids(name.rsplit("/", 1)[-1], archive.read(name))
            cases.append((f"{match.group(1)}/{match.group(2)}", label.group(1) == "FAILED", CHECKOV[match.group(1)],
                          ids))
    return cases


def trivy_cases() -> list[tuple[str, bool, set[str], set[str]]]:
    cases = []
    with zipfile.ZipFile(CORPUS / "trivy-checks-examples.zip") as archive:
        for check, rules in TRIVY.items():
            data = yaml.safe_load(archive.read(f"checks/kubernetes/{check}.yaml"))["kubernetes"]
            for label in ("good", "bad"):
                for index, text in enumerate(data.get(label) or []):
                    ids = _ids("case.yaml", text.encode())
                    cases.append((f"{check}/{label}{index}", label == "bad", rules, ids))
    return cases


def polaris_cases() -> list[tuple[str, bool, set[str], set[str]]]:
    cases = []
    with zipfile.ZipFile(CORPUS / "polaris-tests.zip") as archive:
        for name in sorted(archive.namelist()):
            match = re.match(r"test/checks/(\w+)/(success|failure)([^/]*)\.ya?ml$", name)
            if match and match.group(1) in POLARIS:
                ids = _ids(name.rsplit("/", 1)[-1], archive.read(name))
                cases.append((f"{match.group(1)}/{match.group(2)}{match.group(3)}", match.group(2) == "failure",
                              POLARIS[match.group(1)], ids))
    return cases


def kube_linter_cases() -> list[tuple[str, bool, set[str], set[str]]]:
    from lashing.analyzers.config.yamldoc import load_documents

    cases = []
    with zipfile.ZipFile(CORPUS / "kube-linter-tests.zip") as archive:
        for check, rules in KUBE_LINTER.items():
            data = archive.read(f"tests/checks/{check}.yml")
            fired: dict[tuple[str, str], set[str]] = {}
            for finding in scan_content(f"{check}.yml", data).findings:
                kind, _, name = finding.extra["resource"].partition("/")
                fired.setdefault((kind, name.rpartition("/")[2]), set()).add(finding.id)
            for doc in load_documents(data):
                if not isinstance(doc.data, dict) or "kind" not in doc.data:
                    continue
                kind, name = str(doc.data["kind"]), str((doc.data.get("metadata") or {}).get("name"))
                if kind.endswith("Binding") and check in ("access-to-secrets", "access-to-create-pods"):
                    continue  # judged through the role it binds: the role object is the case here
                cases.append((f"{check}/{kind}/{name}", "dont-fire" not in name, rules, fired.get((kind, name), set())))
    return cases


def measure(cases):
    failing = [c for c in cases if c[1]]
    passing = [c for c in cases if not c[1]]
    missed = [c[0] for c in failing if not (c[2] & c[3])]
    false_pos = [c[0] for c in passing if c[2] & c[3]]
    return len(failing), missed, len(passing), false_pos


@pytest.fixture(scope="module")
def checkov():
    return checkov_cases()


@pytest.fixture(scope="module")
def trivy():
    return trivy_cases()


def _check_peer(peer: str, cases, min_failing: int, min_passing: int) -> None:
    """Recall on the peer's failing cases and false positives on its passing ones, against the measured
    floor and ceiling below; `pytest -s` prints the figures and the cases behind them."""
    failing, missed, passing, false_pos = measure(cases)
    print(f"{peer}: recall {failing - len(missed)}/{failing}, false positives {len(false_pos)}/{passing}")
    print("missed:", missed, "\nfalse positives:", false_pos)
    assert failing >= min_failing and passing >= min_passing
    assert (failing - len(missed)) / failing >= RECALL_FLOOR[peer], missed
    assert len(false_pos) / passing <= FP_CEILING[peer], false_pos


def test_checkov_recall_and_false_positives(checkov):
    _check_peer("checkov", checkov, 100, 80)


def test_trivy_recall_and_false_positives(trivy):
    _check_peer("trivy", trivy, 25, 25)


def test_polaris_recall_and_false_positives():
    _check_peer("polaris", polaris_cases(), 45, 30)


def test_kube_linter_recall_and_false_positives():
    _check_peer("kube-linter", kube_linter_cases(), 40, 25)


def _named_verdicts(archive_name: str, expected: dict, key) -> list[str]:
    """Files whose verdict (does one of the rules fire?) differs from the one their name states; `key`
    turns an archive member name into the table's key."""
    wrong = []
    with zipfile.ZipFile(CORPUS / archive_name) as archive:
        by_key = {key(n): n for n in archive.namelist()}
        for name, (rules, must_fire) in expected.items():
            if bool(rules & _ids(name.rsplit("/", 1)[-1], archive.read(by_key[name]))) != must_fire:
                wrong.append(name)
    return wrong


def test_kubeaudit_fixtures():
    assert _named_verdicts("kubeaudit-fixtures.zip", KUBEAUDIT,
                           lambda n: "/".join(n.split("/")[-3:-2] + n.split("/")[-1:])) == []


def test_kube_score_testdata():
    assert _named_verdicts("kube-score-testdata.zip", KUBE_SCORE, lambda n: n.rsplit("/", 1)[-1]) == []


# Measured: checkov 109/117 failing cases found, 4/116 passing cases flagged; trivy 26/27 and 1/28;
# polaris 45/47 and 0/35; kube-linter 45/45 and 0/30 (OpenShift DeploymentConfig objects included).
# Deliberate differences: an unset --authorization-mode means AlwaysAllow (checkov passes it); a UID of
# exactly 10000 is "<= 10000" (trivy's reading); NET_BIND_SERVICE alone is an accepted added capability;
# an automatically mounted token counts even without an explicit volume (CIS 5.1.6); checkov's checks on
# file-name suffixes (.pem/.key) are not modelled, nor its cases with a malformed spec or no containers;
# a plugin left out of --enable-admission-plugins is not disabled (ServiceAccount, NamespaceLifecycle are
# on by default: CIS audits --disable-admission-plugins); --service-account-lookup defaults to true.
# polaris: an image without a tag and without imagePullPolicy pulls Always (Kubernetes' default for
# `latest`); Polaris wants the field written out.
RECALL_FLOOR = {"checkov": 0.9, "trivy": 0.92, "polaris": 0.95, "kube-linter": 0.95}
FP_CEILING = {"checkov": 0.05, "trivy": 0.05, "polaris": 0.02, "kube-linter": 0.02}


def test_named_cases(checkov, trivy):
    """Cases that exercise inheritance and workload kinds: each must land on the right side."""
    by_name = {c[0]: c for c in checkov + trivy}
    for name in ("RootContainers/rootContainersFAILED", "RootContainers/rootContainersPASSED",
                 "Seccomp/cronjob-seccomp-FAILED", "Seccomp/pod-seccomp-PASSED",
                 "PrivilegedContainers/privilegedDaemonSet-FAILED",
                 "KubeletReadOnlyPort/KubeletReadOnlyPort-FAILED", "EtcdAutoTls/Etcd-PASSED-2",
                 "runs_as_root/good0", "runs_as_root/bad0", "apparmor_policy_disabled/bad0"):
        case = by_name.get(name)
        assert case is not None, name
        assert bool(case[2] & case[3]) == case[1], (name, case[3])
