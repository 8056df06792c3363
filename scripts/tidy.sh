#!/usr/bin/env bash
# Runs clang-tidy (.clang-tidy: naming and bug-prone patterns) over the project's sources,
# using the compile database of a configured build (default build/release), one process per
# core.
set -euo pipefail
cd "$(dirname "$0")/.."
db="${1:-build/release}"
jobs="${CSML_JOBS:-$(nproc)}"
logdir=$(mktemp -d)
trap 'rm -rf "$logdir"' EXIT
# The build precompiles headers with g++; clang-tidy cannot read g++'s .gch files, so it gets
# a copy of the compile database without the precompiled-header flags (it parses the headers).
sed -E 's# -include [^ ]*cmake_pch\.hxx##g; s# -Winvalid-pch##g' "$db/compile_commands.json" \
  >"$logdir/compile_commands.json"
db="$logdir"
git ls-files 'src/*.cc' 'apps/*.cc' |
  xargs -P "$jobs" -n 4 sh -c 'clang-tidy -p "$0" --quiet "$@" >"'"$logdir"'/$$.log" 2>&1 || touch "'"$logdir"'/failed"' "$db"
count=$(git ls-files 'src/*.cc' 'apps/*.cc' | wc -l)
if [[ -e "$logdir/failed" ]]; then
  echo "tidy: clang-tidy found problems:"
  cat "$logdir"/*.log | grep -E 'error:' | sort -u | head -60
  exit 1
fi
echo "tidy: ok ($count files)"
