#!/usr/bin/env bash
# Installs the npm packages pinned by tools/npm/package-lock.json into tools/npm/node_modules:
# swagger-ui-dist (embedded into csml by the build for GET /docs), the OpenAPI 3 schema
# validator and playwright-core (tests drive Debian's Chromium with it; it downloads no browser).
# Idempotent and offline once installed: when node_modules was installed from the same lockfile
# it changes nothing and needs no network. Needs node and npm (installs Debian's when missing).
set -euo pipefail
dir="$(cd "$(dirname "$0")/../tools/npm" && pwd)"
stamp="$dir/node_modules/.csml-package-lock.json"
if cmp -s "$dir/package-lock.json" "$stamp"; then
  echo "install-npm: tools/npm/node_modules matches package-lock.json"
  exit 0
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "install-npm: installing Debian's nodejs and npm"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm
fi
# playwright-core 1.65 needs Node.js 20 or later (Debian 12's own nodejs is 18).
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if (( node_major < 20 )); then
  echo "install-npm: Node.js $(node --version) is too old: the browser tests' playwright-core needs 20 or later" >&2
  exit 2
fi
echo "install-npm: npm ci in tools/npm"
rm -f "$stamp"
# --ignore-scripts: no package runs code at install time (swagger-ui-dist's analytics hook).
(cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
cp "$dir/package-lock.json" "$stamp"
