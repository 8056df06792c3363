#!/usr/bin/env bash
# What explanations cost over HTTP: `csml serve --threads 1` answering POST /score and
# POST /score?explain=true (the same README request, keep-alive, wrk), one server, runs
# alternating A B A B so drift in the machine's load hits both alike. Medians of
# requests/s are compared:
#   goal (issue 13): /score?explain=true >= 0.5x the requests/s of plain /score.
#
# Needs wrk (CSML_INSTALL_BENCH=1 scripts/install-deps.sh). Usage, after a release build of
# csml and predict_compare_bench (from the repository root):
#   bench/explain_http_bench.sh                 # 3 rounds of 10 s per URL
#   ROUNDS=5 DURATION=10 bench/explain_http_bench.sh
# Environment: CSML, ROUNDS, DURATION, CONNECTIONS, WRK_THREADS, MODEL_FILE, PREDICT_BENCH,
# PIN as in bench/http_bench.sh (default model: the 300 trees x 31 leaves bench model).
# Everything it starts is stopped on exit (trap); it writes only under a mktemp directory.
set -euo pipefail
cd "$(dirname "$0")/.."

CSML="${CSML:-build/release/apps/cli/csml}"
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-50}"
WRK_THREADS="${WRK_THREADS:-2}"
MODEL_FILE="${MODEL_FILE:-}"
PREDICT_BENCH="${PREDICT_BENCH:-$(dirname "$CSML")/../../bench/predict_compare_bench}"
CORES=$(nproc)
PIN="${PIN:-$([[ $CORES -ge 2 ]] && echo 1 || echo 0)}"

die() { echo "explain_http_bench: $*" >&2; exit 1; }
for tool in wrk curl python3; do
  command -v "$tool" >/dev/null || die "$tool not found (CSML_INSTALL_BENCH=1 scripts/install-deps.sh)"
done
[[ -x "$CSML" ]] || die "$CSML not found or not executable (build it, or set CSML=path)"
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ && "$DURATION" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS and DURATION: positive integers"
CSML=$(realpath "$CSML")

work=$(mktemp -d "${TMPDIR:-/tmp}/csml-explain-http-bench.XXXXXX")
server=""
cleanup() {
  if [[ -n "$server" ]]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

server_on=()
client_on=()
if [[ "$PIN" == "1" ]]; then
  server_on=(taskset -c "$((CORES - 1))")
  client_on=(taskset -c "0-$((CORES > 1 ? CORES - 2 : 0))")
fi

models="$work/models"
if [[ -z "$MODEL_FILE" ]]; then
  [[ -x "$PREDICT_BENCH" ]] || die "$PREDICT_BENCH not found (build predict_compare_bench, or set MODEL_FILE)"
  MODEL_FILE="$work/model.json"
  CSML_BENCH_SAVE_MODEL="$MODEL_FILE" "$PREDICT_BENCH" --benchmark_filter=none >"$work/train.log" 2>&1 ||
    die "training the bench model failed: $(tail -3 "$work/train.log")"
fi
"$CSML" models import "$MODEL_FILE" --model-dir "$models" >"$work/import.log"

request='{"userId":"u_001","features":{"activity_7d":2,"activity_30d":6,"time_since_last_use_days":15,"failed_renewals_30d":1,"tickets_7d":0,"plan_value":49,"region":"IN","usage_score":0.2}}'
cat >"$work/post.lua" <<EOF
wrk.method = "POST"
wrk.body = '$request'
wrk.headers["Content-Type"] = "application/json"
EOF

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${server_on[@]}" "$CSML" serve --host 127.0.0.1 --port "$port" --threads 1 \
  --model-dir "$models" >"$work/serve.log" 2>&1 &
server=$!
plain_url="http://127.0.0.1:$port/score"
explain_url="http://127.0.0.1:$port/score?explain=true"
for _ in $(seq 1 100); do
  curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' -d "$request" "$plain_url" && break
  sleep 0.1
done
answer=$(curl -sf -X POST -H 'Content-Type: application/json' -d "$request" "$explain_url") ||
  die "csml serve did not answer $explain_url: $(tail -5 "$work/serve.log")"

run_wrk() {  # url -> "<requests/s> <p99 us> <errors>"
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
errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
bad += sum(int(x) for x in errs.groups()) if errs else 0
print(f"{rps:.1f} {p99:.1f} {bad}")
PY
}

echo "explain_http_bench: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), $CORES cores, $(date -u +%Y-%m-%dT%H:%MZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "explain_http_bench: wrk -t$WRK_THREADS -c$CONNECTIONS -d${DURATION}s; server pinned: $PIN"
echo "explain_http_bench: explained answer: $answer"
printf '%-6s %-8s %12s %10s %8s\n' round url "requests/s" "p99 (us)" errors
results=()
for round in $(seq 1 "$ROUNDS"); do
  for which in plain explain; do
    url=$plain_url
    [[ $which == explain ]] && url=$explain_url
    read -r rps p99 bad < <(run_wrk "$url")
    printf '%-6s %-8s %12s %10s %8s\n' "$round" "$which" "$rps" "$p99" "$bad"
    results+=("$which $rps $p99 $bad")
  done
done

printf '%s\n' "${results[@]}" | python3 -c '
import statistics, sys
runs = {}
for line in sys.stdin:
    which, rps, p99, bad = line.split()
    runs.setdefault(which, []).append((float(rps), float(p99), int(bad)))
med = {k: (statistics.median(r for r, _, _ in v), statistics.median(p for _, p, _ in v),
           sum(b for _, _, b in v)) for k, v in runs.items()}
for k in ("plain", "explain"):
    r, p, b = med[k]
    print(f"median {k:8s} {r:12.1f} req/s  p99 {p:10.1f} us  errors {b}")
ratio = med["explain"][0] / med["plain"][0]
print(f"/score?explain=true / /score requests/s: {ratio:.2f}x (goal >= 0.5x): "
      + ("met" if ratio >= 0.5 else "MISSED"))
bad = med["plain"][2] + med["explain"][2]
sys.exit(1 if bad else 0)
'
