#!/usr/bin/env bash
# Runs clang-tidy (.clang-tidy: bugprone-*, performance-*, naming) over the project's sources,
# using the compile database of a configured build (default build/release), one process per
# core. Every warning is printed once (file:line: message [check]); any warning or error fails
# the run, so a change cannot add one to a file it touches (the tree is kept at zero).
# Usage: scripts/tidy.sh [BUILD_DIR] [FILE...]   (files default to every src/ and apps/ .cc)
set -euo pipefail
cd "$(dirname "$0")/.."
db="${1:-build/release}"
shift || true
jobs="${CSML_JOBS:-$(nproc)}"
logdir=$(mktemp -d)
trap 'rm -rf "$logdir"' EXIT
# The build precompiles headers with g++ and may compile through ccache; clang-tidy cannot read
# g++'s .gch files, so it gets a copy of the compile database without the precompiled-header
# flags (it parses the headers) and without the launcher.
sed -E 's# -include [^ ]*cmake_pch\.hxx##g; s# -Winvalid-pch##g; s#"(/usr/bin/)?ccache #"#g' \
  "$db/compile_commands.json" >"$logdir/compile_commands.json"
if [[ $# -gt 0 ]]; then
  files=("$@")
else
  mapfile -t files < <(git ls-files 'src/*.cc' 'apps/*.cc')
fi
printf '%s\n' "${files[@]}" |
  xargs -P "$jobs" -n 4 sh -c 'clang-tidy -p "$0" --quiet "$@" >"'"$logdir"'/$$.log" 2>&1 || touch "'"$logdir"'/failed"' "$logdir"
root="$PWD/"
findings=$(cat "$logdir"/*.log | grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error):' |
  sed "s#^$root##" | sort -u || true)
if [[ -n "$findings" || -e "$logdir/failed" ]]; then
  echo "tidy: clang-tidy found $(grep -c . <<<"$findings") problem(s):"
  head -80 <<<"$findings"
  [[ -n "$findings" ]] || cat "$logdir"/*.log | head -40
  exit 1
fi
echo "tidy: ok (${#files[@]} files, no warnings)"
