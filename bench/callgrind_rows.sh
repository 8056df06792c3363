#!/usr/bin/env bash
# Instructions per row of the forest walks, counted by callgrind (exact where timing on a
# shared machine is not): csml's forest and XGBoost's C API on predict_compare_bench's
# 300 x 31 model and 10,000 rows, one row at a time (the /score path) and as one batch
# (csml predict), plus the portable lockstep walk. Each path runs once untimed, then once
# inside CountedRows(), which is all callgrind collects (predict_compare_bench's
# CSML_BENCH_COUNT mode); the count divided by 10,000 is the table.
#
# Usage (from the repository root, after a release build of predict_compare_bench; needs
# valgrind):
#   bench/callgrind_rows.sh
# Environment:
#   PREDICT_BENCH  predict_compare_bench binary (default build/release/bench/predict_compare_bench)
#   PATHS          the paths to count (default: all five)
# It writes only under a mktemp directory, removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

PREDICT_BENCH="${PREDICT_BENCH:-build/release/bench/predict_compare_bench}"
PATHS="${PATHS:-forest_single xgboost_single forest_batch xgboost_batch forest_batch_portable}"
ROWS=10000  # predict_compare_bench's kBatchRows

die() { echo "callgrind_rows: $*" >&2; exit 1; }
command -v valgrind >/dev/null || die "valgrind not found (apt-get install valgrind)"
[[ -x "$PREDICT_BENCH" ]] || die "$PREDICT_BENCH not found (build predict_compare_bench)"

work=$(mktemp -d "${TMPDIR:-/tmp}/csml-callgrind-rows.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Train once natively; valgrind runs only load the model.
CSML_BENCH_SAVE_MODEL="$work/model.json" "$PREDICT_BENCH" --benchmark_filter=none \
  >"$work/train.log" 2>&1 || die "training failed: $(tail -3 "$work/train.log")"

echo "callgrind_rows: $(valgrind --version), $(sed -n 's/^predict_compare_bench: //p' "$work/train.log")"
printf '%-24s %16s %14s\n' path instructions "per row"
declare -A per_row
for path in $PATHS; do
  CSML_BENCH_MODEL="$work/model.json" CSML_BENCH_COUNT="$path" \
    valgrind --tool=callgrind --toggle-collect='*CountedRows*' \
    --callgrind-out-file="$work/$path.out" "$PREDICT_BENCH" >"$work/$path.log" 2>&1 ||
    die "$path failed: $(tail -3 "$work/$path.log")"
  total=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$work/$path.out")
  [[ -n "$total" ]] || die "$path: no summary in the callgrind output"
  per_row[$path]=$((total / ROWS))
  printf '%-24s %16s %14s\n' "$path" "$total" "${per_row[$path]}"
done
ratio() {  # a b: a / b
  if [[ -n "${per_row[$1]:-}" && -n "${per_row[$2]:-}" ]]; then
    python3 -c "print(f'{${per_row[$1]} / ${per_row[$2]}:.1f}x')"
  else
    echo "n/a"
  fi
}
echo "XGBoost / csml instructions per row: single row $(ratio xgboost_single forest_single), batch $(ratio xgboost_batch forest_batch)"
echo "portable lockstep / vectorized batch walk: $(ratio forest_batch_portable forest_batch)"
