#!/usr/bin/env bash
# Checks that need no build: clang-format on every C++ file, the module boundaries that the
# CMake files declare (scripts/check_modules.py: acyclic graph, includes only along declared
# edges, docs/ARCHITECTURE.md's module table), and the architecture's library boundaries
# (only the model module sees XGBoost, only the server adapter sees h2o, the domain never
# sees an adapter). scripts/tidy.sh runs clang-tidy on a configured build.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0

mapfile -t files < <(git ls-files '*.h' '*.cc' '*.cpp' '*.hpp')
if ! clang-format --dry-run --Werror "${files[@]}" 2>/tmp/csml-format.log; then
  echo "lint: clang-format differences (run: clang-format -i \$(git ls-files '*.h' '*.cc')):"
  head -40 /tmp/csml-format.log
  status=1
fi

if ! python3 scripts/check_modules.py; then
  echo "lint: an include crosses an undeclared module edge, or the module graph is broken (above)"
  status=1
fi

check_only() {  # pattern, allowed path regex, what
  local hits
  hits=$(git grep -l -E "$1" -- '*.h' '*.cc' | grep -v -E "$2" || true)
  if [[ -n "$hits" ]]; then
    echo "lint: $3 outside its module:"; echo "$hits"; status=1
  fi
}
xgb_files=$(git grep -l -E '#include <xgboost/' -- '*.h' '*.cc' || true)
if [[ -n "$xgb_files" && ( $(wc -l <<<"$xgb_files") -ne 1 || "$xgb_files" != src/model/*.cc ) ]]; then
  echo "lint: XGBoost's C API must be included by exactly one file in src/model/, found:"
  echo "$xgb_files"; status=1
fi
check_only '#include [<"]h2o' '^apps/server/' "h2o"
check_only '#include <curl/' '^apps/cs_client/' "libcurl"
check_only '#include <CLI/' '^apps/cli/' "CLI11"
domain_hits=$(git grep -l -E '#include [<"](apps/|spdlog/|CLI/|h2o|curl/)' -- src include || true)
if [[ -n "$domain_hits" ]]; then
  echo "lint: the domain (src/, include/) includes an adapter or logging library:"
  echo "$domain_hits"; status=1
fi

[[ $status -eq 0 ]] && echo "lint: ok"
exit $status
