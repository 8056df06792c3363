#!/usr/bin/env bash
# Measures what one `csml serve` replica needs, for the Kubernetes requests and limits in
# deploy/kubernetes/deployment.yaml (docs/DEPLOYMENT.md, "Resource figures"):
#   - resident memory idle (model loaded) and its high-water mark after the load;
#   - CPU time per scored request at saturation (wrk, keep-alive POST /score of the README's
#     example), as millicores per 1,000 requests/s; and at one connection (latency-bound);
#   - each with the access log as the Deployment sets it (1 in 100 successes) and with every
#     request logged (the default), stdout going to a file as a container runtime's does.
# The server is pinned to one core and wrk to another, on 127.0.0.1 only; every load run is
# bounded (DURATION seconds). It trains the README's demo model (2,000 customers, 180 days,
# --days 90) in a temporary directory, stops everything it started and removes it on exit.
#
# Needs wrk (CSML_INSTALL_BENCH=1 scripts/install-deps.sh) and a built csml.
# Usage: deploy/measure-serve.sh            (CSML=path/to/csml, DURATION=10 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
CSML="$(realpath "${CSML:-build/release/apps/cli/csml}")"
DURATION="${DURATION:-10}"
[[ -x "$CSML" ]] || { echo "measure-serve: no csml at $CSML (build it or set CSML)" >&2; exit 2; }
command -v wrk >/dev/null || { echo "measure-serve: needs wrk (CSML_INSTALL_BENCH=1 scripts/install-deps.sh)" >&2; exit 2; }
[[ "$DURATION" =~ ^[1-9][0-9]?$ ]] || { echo "measure-serve: DURATION in 1..99 seconds" >&2; exit 2; }
cores=$(nproc)
server_core=$((cores - 1))
wrk_core=0
tick=$(getconf CLK_TCK)

work="$(mktemp -d "${TMPDIR:-/tmp}/csml-measure.XXXXXX")"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

"$CSML" simulate --customers 2000 --days 180 --seed 42 --out "$work/snapshots.jsonl" >/dev/null
MODEL_DIR="$work/model_store" "$CSML" train --input "$work/snapshots.jsonl" --days 90 >/dev/null
cat >"$work/post.lua" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"userId":"u_001","features":{"activity_7d":2,"activity_30d":6,"time_since_last_use_days":15,"failed_renewals_30d":1,"tickets_7d":0,"plan_value":49,"region":"IN","usage_score":0.2}}'
EOF

kib() { awk -v k="$1" '$1 == k":" {print $2}' "/proc/$server_pid/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }

start_server() {  # extra serve flags...
  : >"$work/serve.out"
  taskset -c "$server_core" "$CSML" serve --host 127.0.0.1 --port 0 --threads 1 \
    --model-dir "$work/model_store" "$@" >"$work/serve.out" 2>"$work/serve.err" &
  server_pid=$!
  for _ in $(seq 1 100); do
    port="$(cat "$work/serve.out" "$work/serve.err" | grep -o 'listening on http://127.0.0.1:[0-9]*' | grep -o '[0-9]*$' || true)"
    [[ -n "$port" ]] && return 0
    sleep 0.1
  done
  echo "measure-serve: csml serve did not start" >&2; tail -5 "$work/serve.out" "$work/serve.err" >&2; exit 1
}
stop_server() {
  kill -TERM "$server_pid"
  wait "$server_pid" || { echo "measure-serve: csml serve exited non-zero" >&2; exit 1; }
  server_pid=""
}
load() {  # connections -> "requests req/s CPU-us-per-request"
  local before after out requests rate
  before=$(cpu_ticks)
  out="$(taskset -c "$wrk_core" wrk -t1 -c"$1" -d"${DURATION}s" -s "$work/post.lua" \
    "http://127.0.0.1:$port/score")"
  after=$(cpu_ticks)
  if grep -q 'Non-2xx' <<<"$out"; then echo "measure-serve: non-2xx answers" >&2; exit 1; fi
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  rate=$(awk '/^Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
  awk -v r="$requests" -v q="$rate" -v t=$((after - before)) -v hz="$tick" \
    'BEGIN { printf "%d %d %.1f\n", r, q, t / hz * 1e6 / r }'
}

echo "csml serve --threads 1 on core $server_core, wrk -t1 on core $wrk_core, ${DURATION}s per run;"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-34s %9s %10s %9s %14s %9s\n' "access log" "idle RSS" "conns" "req/s" "CPU us/req" "HWM"
for config in "1 in 100 (--access-log-sample 100)" "every request (default)"; do
  if [[ "$config" == 1* ]]; then start_server --access-log-sample 100; else start_server; fi
  sleep 1
  idle=$(kib VmRSS)
  for conns in 16 1; do
    read -r _ rate us < <(load "$conns")
    printf '%-34s %6d KiB %10d %9d %14s %6d KiB\n' "$config" "$idle" "$conns" "$rate" "$us" "$(kib VmHWM)"
  done
  stop_server
done
echo "millicores per 1,000 req/s = CPU us per request (1,000 x us / 1,000,000 s x 1,000 m)"
