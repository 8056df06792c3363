#!/usr/bin/env bash
# Configures and builds one preset ("release" by default, or "asan") with CMake + Ninja.
# Usage: scripts/build.sh [release|asan] [extra ninja targets...]
# Under CI (CI=true) full debug info is dropped (-g0 release, -g1 line tables for ASan reports):
# it is the largest share of compile time and CI never opens a debugger.
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
shift || true
extra=()
if [[ "${CI:-}" == "true" ]]; then
  case "$preset" in
    release) extra+=("-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -DNDEBUG") ;;
    asan) extra+=("-DCMAKE_CXX_FLAGS_DEBUG=-g1") ;;
  esac
fi
cmake --preset "$preset" -DCSML_WERROR="${CSML_WERROR:-ON}" "${extra[@]}" >/dev/null
cmake --build --preset "$preset" -- "$@"
