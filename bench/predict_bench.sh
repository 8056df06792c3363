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
# Timed runs, in Python for the children's CPU time (getrusage): on a loaded machine the wall
# time says how much CPU the run got, the CPU time what it needed.
python3 - "$ROUNDS" "$ROWS" "${THREADS[@]}" "$CSML" "$work" <<'PY'
import resource, statistics, subprocess, sys, time
rounds, rows, a, b, csml, work = int(sys.argv[1]), int(sys.argv[2]), *sys.argv[3:7]
runs = {a: [], b: []}
print(f"{'round':<6} {'threads':<8} {'wall s':>8} {'rows/s':>10} {'CPU s':>7} {'CPU/wall':>8}")
with open(f"{work}/predict.log", "a") as log:
    for r in range(1, rounds + 1):
        for t in (a, b):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run([csml, "predict", "--input", f"{work}/input.jsonl", "--model-dir",
                            f"{work}/models", "--threads", t], stdout=subprocess.DEVNULL,
                           stderr=log, check=True)
            wall = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            runs[t].append((wall, cpu))
            print(f"{r:<6} {t:<8} {wall:>8.3f} {rows / wall:>10.0f} {cpu:>7.3f} {cpu / wall:>8.2f}")
med = {t: statistics.median(w for w, _ in v) for t, v in runs.items()}
best = {t: min(w for w, _ in v) for t, v in runs.items()}
cpu = {t: statistics.median(c for _, c in v) for t, v in runs.items()}
for t in (a, b):
    print(f"--threads {t}: median {med[t]:.3f} s = {rows / med[t]:,.0f} rows/s; best "
          f"{best[t]:.3f} s = {rows / best[t]:,.0f} rows/s; median CPU {cpu[t]:.3f} s "
          f"= {cpu[t] / rows * 1e6:.2f} us/row")
ratio = med[a] / med[b]
verdict = "met" if ratio >= 1.6 else "missed"
print(f"--threads {b} / --threads {a}: {ratio:.2f}x rows/s (medians), {best[a] / best[b]:.2f}x "
      f"(best runs); goal >= 1.6x (medians): {verdict}")
PY
