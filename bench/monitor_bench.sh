#!/usr/bin/env bash
# What monitoring costs /score: `csml serve --threads 1` in four configurations on one version
# trained by `csml train` (so it has a reference profile), driven by wrk with the same
# keep-alive POST of the README's /score example (bench/http_bench.sh's request):
#   off        --prediction-log off  --drift-window 0
#   log        --prediction-log DIR  --drift-window 0
#   drift      --prediction-log off  (live drift on, the default window)
#   log+drift  --prediction-log DIR  (both, as scripts/run-demo.sh runs)
# The four servers run at once (idle ones cost nothing) and are driven in turn, A B C D for
# ROUNDS rounds, so drift in the machine's load hits all alike; the medians of requests/s and
# p99 are compared with `off`:
#   goal: log >= 0.9x off's requests/s and log's p99 <= 1.1x off's (issue 14).
#
# Needs wrk (CSML_INSTALL_BENCH=1 scripts/install-deps.sh).
# Usage (from the repository root, after a release build of csml):
#   bench/monitor_bench.sh                      # 3 rounds of 10 s per configuration
#   ROUNDS=5 DURATION=10 bench/monitor_bench.sh
# Environment: CSML (default build/release/apps/cli/csml), ROUNDS (3), DURATION (10),
#   CONNECTIONS (50), WRK_THREADS (2), CUSTOMERS (20000, for the training data),
#   PIN (1 on 2+ cores: servers on the last core, wrk on the others).
# Everything it starts is stopped on exit (trap); it writes only under a mktemp directory.
set -euo pipefail
cd "$(dirname "$0")/.."

CSML="${CSML:-build/release/apps/cli/csml}"
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-50}"
WRK_THREADS="${WRK_THREADS:-2}"
CUSTOMERS="${CUSTOMERS:-20000}"
CORES=$(nproc)
PIN="${PIN:-$([[ $CORES -ge 2 ]] && echo 1 || echo 0)}"

die() { echo "monitor_bench: $*" >&2; exit 1; }
for tool in wrk curl python3; do
  command -v "$tool" >/dev/null || die "$tool not found (CSML_INSTALL_BENCH=1 scripts/install-deps.sh)"
done
[[ -x "$CSML" ]] || die "$CSML not found or not executable (build it, or set CSML=path)"
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ && "$DURATION" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS and DURATION: positive integers"
CSML=$(realpath "$CSML")

work=$(mktemp -d "${TMPDIR:-/tmp}/csml-monitor-bench.XXXXXX")
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
server_on=()
client_on=()
if [[ "$PIN" == "1" ]]; then
  server_on=(taskset -c "$((CORES - 1))")
  client_on=(taskset -c "0-$((CORES > 1 ? CORES - 2 : 0))")
fi

# ---- a trained version (with its reference profile) -------------------------------------------
models="$work/models"
"$CSML" simulate --customers "$CUSTOMERS" --days 120 --seed 7 --end 2025-08-01 \
  --out "$work/snapshots.jsonl" >"$work/simulate.log"
"$CSML" train --input "$work/snapshots.jsonl" --days 90 --model-dir "$models" --quiet \
  --threads 1 >"$work/train.log" 2>&1 || die "training failed: $(tail -3 "$work/train.log")"
grep -q '"reference_profile"' "$models"/*.meta.json || die "the trained version has no reference profile"

request='{"userId":"u_001","features":{"activity_7d":2,"activity_30d":6,"time_since_last_use_days":15,"failed_renewals_30d":1,"tickets_7d":0,"plan_value":49,"region":"IN","usage_score":0.2}}'
cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$request'
wrk.headers["Content-Type"] = "application/json"
LUA

configs=(off log drift log+drift)
declare -A url
for config in "${configs[@]}"; do
  port=$(free_port)
  args=(--host 127.0.0.1 --port "$port" --threads 1 --model-dir "$models" --access-log off)
  case $config in
    off) args+=(--prediction-log off --drift-window 0) ;;
    log) args+=(--prediction-log "$work/log-$config" --drift-window 0) ;;
    drift) args+=(--prediction-log off) ;;
    log+drift) args+=(--prediction-log "$work/log-both") ;;
  esac
  "${server_on[@]}" "$CSML" serve "${args[@]}" >"$work/serve-$config.log" 2>&1 &
  pids+=($!)
  url[$config]="http://127.0.0.1:$port/score"
done
for config in "${configs[@]}"; do
  for _ in $(seq 1 100); do
    curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' -d "$request" "${url[$config]}" && break
    sleep 0.1
  done
  curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' -d "$request" "${url[$config]}" ||
    die "$config did not answer: $(tail -5 "$work/serve-$config.log")"
done

run_wrk() {
  local out
  out=$("${client_on[@]}" timeout $((DURATION + 15)) wrk -t"$WRK_THREADS" -c"$CONNECTIONS" \
    -d"${DURATION}s" --latency -s "$work/post.lua" "$1")
  python3 - "$out" <<'PY'
import re, sys
out = sys.argv[1]
rps = float(re.search(r"Requests/sec:\s*([0-9.]+)", out).group(1))
m = re.search(r"^\s*99%\s+([0-9.]+)(us|ms|s)\s*$", out, re.M)
p99 = float(m.group(1)) * {"us": 1, "ms": 1e3, "s": 1e6}[m.group(2)]
bad = sum(int(x) for x in re.findall(r"Non-2xx or 3xx responses:\s*(\d+)", out))
print(f"{rps:.1f} {p99:.1f} {bad}")
PY
}

echo "monitor_bench: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), $CORES cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "monitor_bench: wrk -t$WRK_THREADS -c$CONNECTIONS -d${DURATION}s POST /score; servers pinned: $PIN"
printf '%-6s %-10s %12s %10s %8s\n' round config "requests/s" "p99 (us)" non-2xx
results=()
for round in $(seq 1 "$ROUNDS"); do
  for config in "${configs[@]}"; do
    read -r rps p99 bad < <(run_wrk "${url[$config]}")
    printf '%-6s %-10s %12s %10s %8s\n' "$round" "$config" "$rps" "$p99" "$bad"
    results+=("$config $rps $p99 $bad")
  done
done
drift_scores=$(curl -s "${url[drift]%/score}/metrics" | sed -n 's/^csml_drift_window_scores //p')
echo "monitor_bench: the drift server's window holds $drift_scores scores"

printf '%s\n' "${results[@]}" | python3 -c '
import statistics, sys
runs = {}
for line in sys.stdin:
    config, rps, p99, bad = line.split()
    runs.setdefault(config, []).append((float(rps), float(p99), int(bad)))
med = {c: (statistics.median(r[0] for r in v), statistics.median(r[1] for r in v),
           sum(r[2] for r in v)) for c, v in runs.items()}
off = med["off"]
print("%-6s %-10s %12s %10s %10s %10s" % ("median", "config", "requests/s", "p99 (us)", "x off rps", "x off p99"))
for c in ["off", "log", "drift", "log+drift"]:
    m = med[c]
    print("%-6s %-10s %12.1f %10.1f %10.3f %10.3f" % ("", c, m[0], m[1], m[0] / off[0], m[1] / off[1]))
log = med["log"]
print("goal log >= 0.9x off requests/s: " + ("met" if log[0] / off[0] >= 0.9 else "MISSED"))
print("goal log p99 <= 1.1x off p99:    " + ("met" if log[1] / off[1] <= 1.1 else "MISSED"))
if any(m[2] for m in med.values()):
    print("warning: some responses were not 2xx")
'
