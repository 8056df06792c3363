#!/usr/bin/env bash
# What a shadow version on all traffic costs /score (issue 15): two `csml serve --threads 1`
# on copies of one registry with two trained versions, both with the prediction log on (where
# shadow records go), driven by wrk with the README's keep-alive /score POST
# (bench/http_bench.sh's request):
#   off     the served version only
#   shadow  plus `csml models shadow V` (sample 1: every request is also scored by V on the
#           shadow thread, and its record written to the log)
# Both servers run at once (an idle one costs nothing) and are driven in turn, A B per round,
# for ROUNDS rounds, so drift in the machine's load hits both alike; the medians of requests/s
# and p99 are compared:
#   goal: shadow's p99 <= 1.2x off's and shadow >= 0.8x off's requests/s (issue 15).
#
# Needs wrk (CSML_INSTALL_BENCH=1 scripts/install-deps.sh).
# Usage (from the repository root, after a release build of csml):
#   bench/shadow_bench.sh                       # 3 rounds of 10 s per configuration
#   ROUNDS=5 DURATION=10 bench/shadow_bench.sh
# Environment: CSML (default build/release/apps/cli/csml), ROUNDS (3), DURATION (10),
#   CONNECTIONS (50), WRK_THREADS (2), CUSTOMERS (5000, for the training data),
#   PIN (1 on 2+ cores: servers on the last core, wrk on the others).
# Everything it starts is stopped on exit (trap); it writes only under a mktemp directory.
set -euo pipefail
cd "$(dirname "$0")/.."

CSML="${CSML:-build/release/apps/cli/csml}"
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-50}"
WRK_THREADS="${WRK_THREADS:-2}"
CUSTOMERS="${CUSTOMERS:-5000}"
CORES=$(nproc)
PIN="${PIN:-$([[ $CORES -ge 2 ]] && echo 1 || echo 0)}"

die() { echo "shadow_bench: $*" >&2; exit 1; }
for tool in wrk curl python3; do
  command -v "$tool" >/dev/null || die "$tool not found (CSML_INSTALL_BENCH=1 scripts/install-deps.sh)"
done
[[ -x "$CSML" ]] || die "$CSML not found or not executable (build it, or set CSML=path)"
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ && "$DURATION" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS and DURATION: positive integers"
CSML=$(realpath "$CSML")

work=$(mktemp -d "${TMPDIR:-/tmp}/csml-shadow-bench.XXXXXX")
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

# ---- two trained versions: the served one and the shadow ---------------------------------------
models="$work/models-off"
"$CSML" simulate --customers "$CUSTOMERS" --days 120 --seed 7 --end 2025-08-01 \
  --out "$work/snapshots.jsonl" >"$work/simulate.log"
for run in 1 2; do
  "$CSML" train --input "$work/snapshots.jsonl" --days 90 --model-dir "$models" --quiet \
    --threads 1 --no-tune --force >"$work/train-$run.log" 2>&1 ||
    die "training failed: $(tail -3 "$work/train-$run.log")"
done
served=$(head -1 "$models/SERVING")
shadow=""
for meta in "$models"/*.meta.json; do
  version=$(basename "$meta" .meta.json)
  [[ "$version" != "$served" ]] && shadow="$version"
done
[[ -n "$shadow" ]] || die "expected two versions in $models"
cp -a "$models" "$work/models-shadow"
"$CSML" models shadow "$shadow" --sample 1 --model-dir "$work/models-shadow" >"$work/shadow.log" 2>&1 ||
  die "csml models shadow failed: $(cat "$work/shadow.log")"

request='{"userId":"u_001","features":{"activity_7d":2,"activity_30d":6,"time_since_last_use_days":15,"failed_renewals_30d":1,"tickets_7d":0,"plan_value":49,"region":"IN","usage_score":0.2}}'
cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$request'
wrk.headers["Content-Type"] = "application/json"
LUA

configs=(off shadow)
declare -A url
for config in "${configs[@]}"; do
  port=$(free_port)
  "${server_on[@]}" "$CSML" serve --host 127.0.0.1 --port "$port" --threads 1 \
    --model-dir "$work/models-$config" --access-log off --prediction-log "$work/log-$config" \
    >"$work/serve-$config.log" 2>&1 &
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
# The shadow server must have loaded its shadow before it is measured.
for _ in $(seq 1 100); do
  curl -s "${url[shadow]%/score}/metrics" | grep -q '^csml_shadow_scores_total{outcome="scored"} [1-9]' && break
  curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' -d "$request" "${url[shadow]}" || true
  sleep 0.1
done
curl -s "${url[shadow]%/score}/metrics" | grep -q '^csml_shadow_scores_total{outcome="scored"} [1-9]' ||
  die "the shadow server scores no shadow: $(tail -5 "$work/serve-shadow.log")"

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

echo "shadow_bench: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), $CORES cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "shadow_bench: wrk -t$WRK_THREADS -c$CONNECTIONS -d${DURATION}s POST /score; served $served, shadow $shadow; servers pinned: $PIN"
printf '%-6s %-8s %12s %10s %8s\n' round config "requests/s" "p99 (us)" non-2xx
results=()
for round in $(seq 1 "$ROUNDS"); do
  for config in "${configs[@]}"; do
    read -r rps p99 bad < <(run_wrk "${url[$config]}")
    printf '%-6s %-8s %12s %10s %8s\n' "$round" "$config" "$rps" "$p99" "$bad"
    results+=("$config $rps $p99 $bad")
  done
done
metrics=$(curl -s "${url[shadow]%/score}/metrics")
shadow_count() { sed -n "s/^csml_shadow_scores_total{outcome=\"$1\"} //p" <<<"$metrics"; }
echo "shadow_bench: shadow scores: scored $(shadow_count scored), dropped $(shadow_count dropped), failed $(shadow_count failed)"

printf '%s\n' "${results[@]}" | python3 -c '
import statistics, sys
runs = {}
for line in sys.stdin:
    config, rps, p99, bad = line.split()
    runs.setdefault(config, []).append((float(rps), float(p99), int(bad)))
med = {c: (statistics.median(r[0] for r in v), statistics.median(r[1] for r in v),
           sum(r[2] for r in v)) for c, v in runs.items()}
off = med["off"]
print("%-6s %-8s %12s %10s %10s %10s" % ("median", "config", "requests/s", "p99 (us)", "x off rps", "x off p99"))
for c in ["off", "shadow"]:
    m = med[c]
    print("%-6s %-8s %12.1f %10.1f %10.3f %10.3f" % ("", c, m[0], m[1], m[0] / off[0], m[1] / off[1]))
s = med["shadow"]
print("goal shadow >= 0.8x off requests/s: " + ("met" if s[0] / off[0] >= 0.8 else "MISSED"))
print("goal shadow p99 <= 1.2x off p99:    " + ("met" if s[1] / off[1] <= 1.2 else "MISSED"))
if any(m[2] for m in med.values()):
    print("warning: some responses were not 2xx")
'
