#!/usr/bin/env bash
# Runs clang-tidy (.clang-tidy: naming and bug-prone patterns) over the project's sources,
# using the compile database of a configured build (default build/release).
set -euo pipefail
cd "$(dirname "$0")/.."
db="${1:-build/release}"
mapfile -t sources < <(git ls-files 'src/*.cc' 'apps/*.cc')
log=$(mktemp)
if ! clang-tidy -p "$db" --quiet "${sources[@]}" >"$log" 2>&1; then
  echo "tidy: clang-tidy found problems:"
  grep -E 'error:' "$log" | sort -u | head -60
  rm -f "$log"
  exit 1
fi
rm -f "$log"
echo "tidy: ok (${#sources[@]} files)"
