#!/usr/bin/env bash
# Validates the Kubernetes manifests in deploy/kubernetes/ without a cluster
# (deploy/validate/validate-manifests.js says what is checked; docs/DEPLOYMENT.md too), then
# checks the checks: known breaks of the manifests must all be reported (--self-test).
#
# The validator's npm packages (kubernetes-models: the Kubernetes API's schemas; yaml) are
# installed with `npm ci` from deploy/validate/package-lock.json into a cache folder, once
# per lockfile. Needs node and npm (Debian: apt-get install nodejs npm).
# Usage: deploy/validate-manifests.sh [--cache DIR]   (default DIR: build/deploy-validate)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cache="$repo/build/deploy-validate"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --cache) cache="$2"; shift 2 ;;
    *) echo "validate-manifests: unknown argument $1" >&2; exit 2 ;;
  esac
done
for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "validate-manifests: needs $tool (apt-get install nodejs npm)" >&2; exit 1; }
done

mkdir -p "$cache"
lock="$repo/deploy/validate/package-lock.json"
if ! cmp -s "$lock" "$cache/package-lock.json" || [[ ! -d "$cache/node_modules/kubernetes-models" ]]; then
  cp "$repo/deploy/validate/package.json" "$lock" "$cache/"
  (cd "$cache" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null) ||
    { echo "validate-manifests: npm ci failed in $cache" >&2; rm -f "$cache/package-lock.json"; exit 1; }
fi
exec node "$repo/deploy/validate/validate-manifests.js" --node-modules "$cache/node_modules" \
  --repo "$repo" --self-test
