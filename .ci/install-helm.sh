#!/usr/bin/env bash
# Builds the Helm CLI into .cache/bin (no root needed) so the chart's tests can lint and render charts/kansoku.
# Helm is not packaged in Debian 12; it is built from the Go module proxy with the machine's Go (about two
# minutes once, then cached). Without Go this prints why and goes on: the chart test then says it was skipped.
set -euo pipefail

HELM_VERSION=v3.22.0
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/.cache/bin

if command -v helm >/dev/null 2>&1; then
  echo "install-helm.sh: helm on PATH ($(helm version --short 2>/dev/null || echo unknown))"
  exit 0
fi
if [[ -x $bin/helm ]] && "$bin/helm" version --short >/dev/null 2>&1; then
  echo "install-helm.sh: helm in .cache/bin ($("$bin/helm" version --short))"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "install-helm.sh: no helm and no Go to build it: the Helm chart tests will be skipped" >&2
  exit 0
fi
echo "install-helm.sh: building helm ${HELM_VERSION} into .cache/bin (once)"
mkdir -p "$bin"
GOBIN=$bin GOFLAGS=-mod=mod go install "helm.sh/helm/v3/cmd/helm@${HELM_VERSION}"
"$bin/helm" version --short
