#!/usr/bin/env bash
# Configures and builds one preset ("release" by default, or "asan") with CMake + Ninja.
# Usage: scripts/build.sh [release|asan] [extra ninja targets...]
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
shift || true
cmake --preset "$preset" -DCSML_WERROR="${CSML_WERROR:-ON}" >/dev/null
cmake --build --preset "$preset" -- "$@"
