#!/usr/bin/env bash
# `csml predict` throughput: rows/s of one file of ROWS simulated snapshots (JSON Lines) scored
# with --threads 1 and with --threads 2, alternated for ROUNDS rounds; the medians are compared:
#   goal (issue 16): 2 threads >= 1.6x the rows/s of 1 thread.
# Each timed run writes to stdout redirected to /dev/null (the disk is not measured); one
# extra run per thread count writes --out files, which must be byte-identical.
#
# Usage (from the repository root, after a release build of csml):
#   bench/predict_bench.sh
#   ROWS=1000000 ROUNDS=5 bench/predict_bench.sh
# Environment:
#   CSML        csml binary (default build/release/apps/cli/csml)
#   ROWS        rows in the file (default 1000000)      ROUNDS  rounds of 1, 2 threads (default 5)
#   THREADS     the two thread counts compared (default "1 2")
#   MODEL_FILE  LightGBM text / XGBoost JSON model to import (default: the xgboost_synth test
#               fixture, 84 trees)
# It writes only under a mktemp directory, removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

CSML="${CSML:-build/release/apps/cli/csml}"
ROWS="${ROWS:-1000000}"
ROUNDS="${ROUNDS:-5}"
read -r -a THREADS <<<"${THREADS:-1 2}"
MODEL_FILE="${MODEL_FILE:-tests/data/fixtures/xgboost_synth/model.json}"

die() { echo "predict_bench: $*" >&2; exit 1; }
[[ -x "$CSML" ]] || die "$CSML not found or not executable (build it, or set CSML=path)"
[[ "$ROWS" =~ ^[1-9][0-9]*$ && "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "ROWS and ROUNDS: positive integers"
[[ ${#THREADS[@]} -eq 2 ]] || die "THREADS: two thread counts, e.g. \"1 2\""
CSML=$(realpath "$CSML")

work=$(mktemp -d "${TMPDIR:-/tmp}/csml-predict-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# About 10 weekly snapshots a customer over --days 40 (+30 pending days).
customers=$((ROWS / 9 + 1))
"$CSML" simulate --customers "$customers" --days 40 --seed 16 --end 2025-08-01 \
  --out "$work/all.jsonl" >"$work/simulate.log" 2>&1 || die "simulate failed: $(tail -3 "$work/simulate.log")"
head -n "$ROWS" "$work/all.jsonl" >"$work/input.jsonl"
rm "$work/all.jsonl"
rows=$(wc -l <"$work/input.jsonl")
[[ "$rows" -eq "$ROWS" ]] || die "simulate gave $rows rows, fewer than $ROWS"
"$CSML" models import "$MODEL_FILE" --model-dir "$work/models" >"$work/import.log" 2>&1 ||
  die "import failed: $(tail -3 "$work/import.log")"

predict() {  # threads [extra flags...]
  local threads=$1
  shift
  "$CSML" predict --input "$work/input.jsonl" --model-dir "$work/models" --threads "$threads" "$@"
}

# Same bytes whatever the threads (and the file is in the page cache after this).
for t in "${THREADS[@]}"; do
  predict "$t" --out "$work/out-$t.jsonl" 2>>"$work/predict.log"
done
cmp -s "$work/out-${THREADS[0]}.jsonl" "$work/out-${THREADS[1]}.jsonl" ||
  die "--threads ${THREADS[0]} and --threads ${THREADS[1]} wrote different files"
rm "$work"/out-*.jsonl

echo "predict_bench: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "predict_bench: $ROWS rows ($(du -m "$work/input.jsonl" | cut -f1) MB JSON Lines), model $(basename "$MODEL_FILE"), output identical for --threads ${THREADS[*]}"
printf '%-6s %-8s %10s %12s\n' round threads seconds "rows/s"
results=()
for round in $(seq 1 "$ROUNDS"); do
  for t in "${THREADS[@]}"; do
    start=$(date +%s.%N)
    predict "$t" >/dev/null 2>>"$work/predict.log"
    end=$(date +%s.%N)
    seconds=$(python3 -c "print(f'{$end - $start:.3f}')")
    printf '%-6s %-8s %10s %12.0f\n' "$round" "$t" "$seconds" "$(python3 -c "print($ROWS / $seconds)")"
    results+=("$t $seconds")
  done
done

printf '%s\n' "${results[@]}" | python3 -c '
import statistics, sys
rows = int(sys.argv[1])
runs = {}
order = []
for line in sys.stdin:
    t, s = line.split()
    if t not in runs: order.append(t)
    runs.setdefault(t, []).append(float(s))
med = {t: statistics.median(v) for t, v in runs.items()}
a, b = order
for t in order:
    print(f"median --threads {t}: {med[t]:.3f} s, {rows / med[t]:,.0f} rows/s")
ratio = med[a] / med[b]
print(f"--threads {b} / --threads {a}: {ratio:.2f}x rows/s (goal >= 1.6x: {\"met\" if ratio >= 1.6 else \"missed\"})")
' "$ROWS"
