#!/usr/bin/env bash
# HTTP benchmark: `csml serve --threads N` against nginx with N workers answering a fixed JSON
# body, both on 127.0.0.1, driven by wrk with the same keep-alive POST of the README's /score
# example (N = THREADS, default 1).
#
# nginx (THREADS workers, access log off, `return 200` with the README's response body) is the
# bar: the fastest a one-thread HTTP/1.1 server can answer this request on this machine.
# Runs alternate A B A B (nginx, csml) for ROUNDS rounds so drift in the machine's load hits
# both alike; the medians of requests/s and of p99 latency are compared:
#   goal: csml >= 0.8x nginx's requests/s and csml's p99 <= 1.5x nginx's.
#
# Needs wrk and nginx (Debian packages, not needed to build or test):
#   CSML_INSTALL_BENCH=1 scripts/install-deps.sh
# Usage (from the repository root, after a release build):
#   bench/http_bench.sh                        # 3 rounds of 10 s per server
#   ROUNDS=5 DURATION=10 bench/http_bench.sh
# Environment:
#   CSML          csml binary (default build/release/apps/cli/csml)
#   ROUNDS        rounds of A B (default 3)           DURATION  seconds per wrk run (default 10)
#   CONNECTIONS   wrk connections (default 50)         WRK_THREADS wrk threads (default 2)
#   THREADS       csml serve --threads and nginx worker_processes (default 1)
#   MODEL_DIR     a registry to serve as it is (e.g. one `csml train` filled with a
#                 default-trained model); else MODEL_FILE is imported into a fresh one
#   MODEL_FILE    a LightGBM text / XGBoost JSON model to import and serve; default: the
#                 300-tree x 31-leaf model predict_compare_bench trains (same seed, same model)
#   PREDICT_BENCH predict_compare_bench binary (default: next to CSML's build, bench/)
#   PIN           1 (default when THREADS < cores): servers on the last THREADS cores, wrk on
#                 the others; 0: nothing pinned
#   MAX_SECONDS   hard bound on the whole run (default: computed from the above + 120)
# Everything it starts is stopped on exit (trap); it writes only under a mktemp directory.
set -euo pipefail
cd "$(dirname "$0")/.."

CSML="${CSML:-build/release/apps/cli/csml}"
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-50}"
WRK_THREADS="${WRK_THREADS:-2}"
MODEL_FILE="${MODEL_FILE:-}"
MODEL_DIR="${MODEL_DIR:-}"
THREADS="${THREADS:-1}"
PREDICT_BENCH="${PREDICT_BENCH:-$(dirname "$CSML")/../../bench/predict_compare_bench}"
CORES=$(nproc)
PIN="${PIN:-$([[ $CORES -gt $THREADS ]] && echo 1 || echo 0)}"
MAX_SECONDS="${MAX_SECONDS:-$((ROUNDS * 2 * (DURATION + 5) + 120))}"

die() { echo "http_bench: $*" >&2; exit 1; }
for tool in wrk nginx curl python3; do
  command -v "$tool" >/dev/null || die "$tool not found (CSML_INSTALL_BENCH=1 scripts/install-deps.sh)"
done
[[ -x "$CSML" ]] || die "$CSML not found or not executable (build it, or set CSML=path)"
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ && "$DURATION" =~ ^[1-9][0-9]*$ && "$THREADS" =~ ^[1-9][0-9]*$ ]] ||
  die "ROUNDS, DURATION and THREADS: positive integers"
CSML=$(realpath "$CSML")

work=$(mktemp -d "${TMPDIR:-/tmp}/csml-http-bench.XXXXXX")
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# The whole run is bounded: a watchdog ends this script (and so, by the trap, everything it
# started) if it overruns.
# (Its sleep runs in the background and is waited for, so a TERM at cleanup ends both at once.)
(
  trap 'kill "$nap" 2>/dev/null; exit 0' TERM
  sleep "$MAX_SECONDS" &
  nap=$!
  wait "$nap"
  echo "http_bench: over ${MAX_SECONDS}s, stopping" >&2
  kill -TERM $$
) &
watchdog=$!
pids+=("$watchdog")

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
server_cpus="$((CORES > THREADS ? CORES - THREADS : 0))-$((CORES - 1))"
client_cpus="0-$((CORES > THREADS ? CORES - THREADS - 1 : 0))"
# Prefixes rather than functions, so `$!` of a server started in the background is the
# server itself (taskset execs it).
server_on=()
client_on=()
if [[ "$PIN" == "1" ]]; then
  server_on=(taskset -c "$server_cpus")
  client_on=(taskset -c "$client_cpus")
fi

# ---- the model ------------------------------------------------------------------------------
models="$work/models"
if [[ -n "$MODEL_DIR" ]]; then
  models=$(realpath "$MODEL_DIR")
elif [[ -z "$MODEL_FILE" ]]; then
  [[ -x "$PREDICT_BENCH" ]] || die "$PREDICT_BENCH not found (build predict_compare_bench, or set MODEL_FILE)"
  MODEL_FILE="$work/model.json"
  CSML_BENCH_SAVE_MODEL="$MODEL_FILE" "$PREDICT_BENCH" --benchmark_filter=none >"$work/train.log" 2>&1 ||
    die "training the bench model failed: $(tail -3 "$work/train.log")"
fi
[[ -n "$MODEL_DIR" ]] || "$CSML" models import "$MODEL_FILE" --model-dir "$models" >"$work/import.log"
metas=("$models"/*.meta.json)
model_version=$(basename "${metas[0]}" .meta.json)

# ---- the request and nginx's fixed answer (README / docs/API.md) -------------------------
request='{"userId":"u_001","features":{"activity_7d":2,"activity_30d":6,"time_since_last_use_days":15,"failed_renewals_30d":1,"tickets_7d":0,"plan_value":49,"region":"IN","usage_score":0.2}}'
response='{"risk":0.7312,"tier":"high","reasons":["inactive_14d","payment_issue_recent"],"modelVersion":"risk-xgb-2025-08-22-0900"}'
cat >"$work/post.lua" <<EOF
wrk.method = "POST"
wrk.body = '$request'
wrk.headers["Content-Type"] = "application/json"
EOF

nginx_port=$(free_port)
mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<EOF
worker_processes $THREADS;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  keepalive_requests 1000000000;
  keepalive_timeout 120s;
  server {
    listen 127.0.0.1:$nginx_port;
    location / {
      default_type application/json;
      return 200 '$response';
    }
  }
}
EOF
"${server_on[@]}" nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" 2>"$work/nginx/stderr.log" &
pids+=($!)
nginx_pid=$!

csml_port=$(free_port)
"${server_on[@]}" "$CSML" serve --host 127.0.0.1 --port "$csml_port" --threads "$THREADS" \
  --model-dir "$models" >"$work/serve.log" 2>&1 &
pids+=($!)
csml_pid=$!

wait_ready() {  # url name
  local _
  for _ in $(seq 1 100); do
    if curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' -d "$request" "$1"; then
      return 0
    fi
    sleep 0.1
  done
  echo "http_bench: $2 did not answer $1; its log:" >&2
  cat "$work/serve.log" "$work/nginx/stderr.log" "$work/nginx/error.log" 2>/dev/null >&2 || true
  exit 1
}
nginx_url="http://127.0.0.1:$nginx_port/score"
csml_url="http://127.0.0.1:$csml_port/score"
wait_ready "$nginx_url" nginx
wait_ready "$csml_url" "csml serve"
csml_answer=$(curl -s -X POST -H 'Content-Type: application/json' -d "$request" "$csml_url")

# ---- runs -------------------------------------------------------------------------------------
# CPU clock ticks (user + system) a server and its child processes (nginx's workers) used.
cpu_ticks() {  # pid
  local total=0 p
  for p in "$1" $(pgrep -P "$1" || true); do
    # Fields 14 and 15 of /proc/<pid>/stat, counted after the ")" that ends the name.
    total=$((total + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')))
  done
  echo "$total"
}
# Prints "<requests/s> <p99 in microseconds> <non-2xx or socket errors> <server CPU us per
# request>" of one wrk run. The CPU per request is what the server spent, whatever else ran.
run_wrk() {  # url server-pid
  local out before after
  before=$(cpu_ticks "$2")
  out=$("${client_on[@]}" timeout $((DURATION + 15)) wrk -t"$WRK_THREADS" -c"$CONNECTIONS" \
    -d"${DURATION}s" --latency -s "$work/post.lua" "$1")
  after=$(cpu_ticks "$2")
  echo "$out" >>"$work/wrk.log"
  python3 - "$out" "$((after - before))" "$(getconf CLK_TCK)" <<'PY'
import re, sys
out = sys.argv[1]
rps = float(re.search(r"Requests/sec:\s*([0-9.]+)", out).group(1))
m = re.search(r"^\s*99%\s+([0-9.]+)(us|ms|s)\s*$", out, re.M)
p99 = float(m.group(1)) * {"us": 1, "ms": 1e3, "s": 1e6}[m.group(2)]
bad = sum(int(x) for x in re.findall(r"Non-2xx or 3xx responses:\s*(\d+)", out))
errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
bad += sum(int(x) for x in errs.groups()) if errs else 0
requests = int(re.search(r"(\d+) requests in", out).group(1))
cpu_us = int(sys.argv[2]) / int(sys.argv[3]) * 1e6 / max(requests, 1)
print(f"{rps:.1f} {p99:.1f} {bad} {cpu_us:.2f}")
PY
}

echo "http_bench: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), $CORES cores, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "http_bench: csml $("$CSML" --version 2>&1 | head -1) serving $model_version; nginx $(nginx -v 2>&1 | sed 's/.*\///')"
echo "http_bench: csml --threads $THREADS, nginx $THREADS worker(s)"
echo "http_bench: wrk -t$WRK_THREADS -c$CONNECTIONS -d${DURATION}s POST /score; servers pinned: $PIN"
echo "http_bench: csml answers: $csml_answer"
printf '%-6s %-6s %12s %10s %8s %12s\n' round server "requests/s" "p99 (us)" errors "CPU us/req"
results=()
for round in $(seq 1 "$ROUNDS"); do
  for server in nginx csml; do
    url=$nginx_url
    pid=$nginx_pid
    if [[ $server == csml ]]; then
      url=$csml_url
      pid=$csml_pid
    fi
    read -r rps p99 bad cpu < <(run_wrk "$url" "$pid")
    printf '%-6s %-6s %12s %10s %8s %12s\n' "$round" "$server" "$rps" "$p99" "$bad" "$cpu"
    results+=("$server $rps $p99 $bad $cpu")
  done
done

printf '%s\n' "${results[@]}" | python3 -c '
import statistics, sys
runs = {}
for line in sys.stdin:
    server, rps, p99, bad, cpu = line.split()
    runs.setdefault(server, []).append((float(rps), float(p99), int(bad), float(cpu)))
med = {s: (statistics.median(r[0] for r in v), statistics.median(r[1] for r in v),
           sum(r[2] for r in v), statistics.median(r[3] for r in v)) for s, v in runs.items()}
n, c = med["nginx"], med["csml"]
print(f"median  nginx  {n[0]:12.1f} {n[1]:10.1f} {n[2]:8d} {n[3]:12.2f}")
print(f"median  csml   {c[0]:12.1f} {c[1]:10.1f} {c[2]:8d} {c[3]:12.2f}")
print(f"server CPU per request: csml {c[3]:.2f} us, nginx {n[3]:.2f} us ({c[3] / n[3]:.2f}x)")
rps_ratio, p99_ratio = c[0] / n[0], c[1] / n[1]
rps_verdict = "met" if rps_ratio >= 0.8 else "MISSED"
p99_verdict = "met" if p99_ratio <= 1.5 else "MISSED"
print(f"csml/nginx requests/s {rps_ratio:.2f} (goal >= 0.8): {rps_verdict}")
print(f"csml/nginx p99        {p99_ratio:.2f} (goal <= 1.5): {p99_verdict}")
if c[2] or n[2]:
    print("warning: some responses were errors or non-2xx; see the counts above")
'
