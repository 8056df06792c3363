#!/usr/bin/env bash
# Builds the csml container image from the Dockerfile and tests it, on a machine with no Docker
# engine and no access to an image registry (docs/DEPLOYMENT.md, "Testing the image"):
#
#   1. base image: debootstrap a minimal Debian 12 from the archive apt uses on this machine,
#      podman import it as localhost/debian:bookworm (skipped when that image exists);
#   2. podman build --pull=never --isolation=chroot --format docker (cgroups are not needed);
#   3. the image's configuration: non-root numeric user, MODEL_DIR, the default command,
#      HEALTHCHECK, STOPSIGNAL, no compiler, every shared library resolved (ldd);
#   4. podman create + export the image's filesystem, then run it the way a container engine
#      would (podman run needs setrlimit, which these machines forbid): new mount, PID and
#      network namespaces, a fresh /dev and /tmp, the model directory bind-mounted at
#      /app/model_store, chroot as the image's user, the image's environment and working dir;
#   5. in it: csml simulate + csml train write a model into the mounted directory; the image's
#      default command (csml serve on 0.0.0.0:8000) serves it read-only, and the image's own
#      HEALTHCHECK passes; GET /healthz, GET /readyz, POST /score (a score and a 422) answer
#      as docs/API.md says; a second training container publishes a new version and the
#      server reloads it by itself; SIGTERM stops it with exit code 0;
#   6. the Kubernetes Deployment's command (deploy/kubernetes/deployment.yaml's args) on an
#      empty registry: 503 on /healthz and /readyz, the HEALTHCHECK fails; a published model
#      makes it ready by itself; SIGTERM turns /readyz 503 while /score still answers (the
#      drain), then it exits 0;
#   7. removes what it made: containers, the image and the base image it built, the folders.
#
# Usage: deploy/test-image.sh [--context DIR] [--image NAME] [--no-build] [--keep]
#   --context DIR  build from DIR (default: the committed tree, `git archive HEAD`, so files
#                  other people are editing do not leak in; pass --context . for the worktree)
#   --image NAME   the tag to build or test (default localhost/cs-ml-service:test-<pid>)
#   --no-build     test an image that exists already (--image NAME)
#   --keep         keep the base image and the built image (for a faster next run)
# Environment: CSML_TEST_IMAGE=1 is required when run by CTest with --ctest (label "image"),
# which otherwise reports the test as skipped (exit 77); CSML_IMAGE_BUILD_JOBS (default 2).
# Needs root, podman and debootstrap (installed here by CSML_INSTALL_DEPLOY=1
# scripts/install-deps.sh when missing), unshare/nsenter (util-linux), ip (iproute2), curl.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"

context=""
image=""
build=1
keep=0
ctest_mode=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --context) context="$(cd "$2" && pwd)"; shift 2 ;;
    --image) image="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    --keep) keep=1; shift ;;
    --ctest) ctest_mode=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "test-image: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [[ $ctest_mode -eq 1 && "${CSML_TEST_IMAGE:-0}" != "1" ]]; then
  echo "test-image: skipped (takes minutes; set CSML_TEST_IMAGE=1 to run it)"
  exit 77
fi
if [[ $build -eq 0 && -z "$image" ]]; then
  echo "test-image: --no-build needs --image NAME" >&2; exit 2
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "test-image: needs root (debootstrap, namespaces, chroot)" >&2; exit 2
fi
image="${image:-localhost/cs-ml-service:test-$$}"
base_image="localhost/debian:bookworm"
build_jobs="${CSML_IMAGE_BUILD_JOBS:-2}"
started=$(date +%s)

log() { echo "test-image [$(( $(date +%s) - started ))s]: $*"; }
fail() { echo "test-image: FAIL: $*" >&2; exit 1; }
passed=0
check() {  # description, then a command that must succeed
  local what="$1"; shift
  if "$@"; then passed=$((passed + 1)); log "ok: $what"; else fail "$what"; fi
}

CSML_INSTALL_DEPLOY=1 "$repo/scripts/install-deps.sh" >/dev/null
for tool in podman debootstrap unshare nsenter chroot ip curl tar; do
  command -v "$tool" >/dev/null || fail "$tool is not installed"
done

# Everything this run writes (base rootfs, build context, the image's filesystem, models)
# lives on a tmpfs: unpacking and deleting a few hundred MB there takes no disk time.
work="$(mktemp -d /var/tmp/csml-image-test.XXXXXX)"
mount -t tmpfs -o size=4g,mode=0700 csml-image-test "$work"
made_base=0
made_image=0
container=""
server_pid=""
server_child=""
cleanup() {
  local rc=$?
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    if [[ -n "$server_child" ]]; then kill -KILL "$server_child" 2>/dev/null || true; fi
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [[ -n "$container" ]]; then podman rm -f "$container" >/dev/null 2>&1 || true; fi
  if [[ $keep -eq 0 ]]; then
    if [[ $made_image -eq 1 ]]; then
      podman rmi -f "$image" "$image-build" >/dev/null 2>&1 || true
    fi
    if [[ $made_base -eq 1 ]]; then podman rmi -f "$base_image" >/dev/null 2>&1 || true; fi
  fi
  if mountpoint -q "$work"; then umount "$work" 2>/dev/null || umount -l "$work"; fi
  rmdir "$work" 2>/dev/null || rm -rf "$work"
  local elapsed=$(( $(date +%s) - started ))
  if [[ $rc -eq 0 ]]; then
    echo "test-image: PASS ($passed checks, ${elapsed}s)"
  else
    echo "test-image: FAILED after ${elapsed}s (exit $rc)" >&2
  fi
}
trap cleanup EXIT

# ---- 1. base image --------------------------------------------------------------------------
# The URI apt on this machine uses for a suite of the Debian archive (component main), from
# /etc/apt/sources.list* in either format; empty when none.
apt_uri_for_suite() {
  local suite="$1" f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -r "$f" ]] || continue
    awk -v suite="$suite" '
      $1 == "deb" {
        uri = ""; has_suite = 0; has_main = 0
        for (i = 2; i <= NF; i++) {
          if ($i ~ /^\[/) { while ($i !~ /\]$/ && i < NF) i++; continue }
          if (uri == "") { uri = $i; continue }
          if (!has_suite) { has_suite = ($i == suite); if (!has_suite) break; continue }
          if ($i == "main") has_main = 1
        }
        if (has_suite && has_main) { print uri; exit }
      }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -r "$f" ]] || continue
    awk -v suite="$suite" '
      BEGIN { RS = ""; FS = "\n" }
      {
        types = ""; uris = ""; suites = ""; comps = ""; enabled = "yes"
        for (i = 1; i <= NF; i++) {
          line = $i
          if (line ~ /^#/) continue
          key = tolower(substr(line, 1, index(line, ":") - 1))
          val = substr(line, index(line, ":") + 1)
          if (key == "types") types = val
          else if (key == "uris") uris = val
          else if (key == "suites") suites = val
          else if (key == "components") comps = val
          else if (key == "enabled") enabled = tolower(val)
        }
        if (enabled ~ /no/ || (" " types " ") !~ /[ \t]deb[ \t]/) next
        if ((" " suites " ") !~ ("[ \t]" suite "[ \t]")) next
        if ((" " comps " ") !~ /[ \t]main[ \t]/) next
        split(uris, u, /[ \t]+/)
        for (j in u) if (u[j] != "") { print u[j]; exit }
      }' "$f"
  done | head -n 1
}

if podman image exists "$base_image"; then
  log "base image $base_image exists; using it"
else
  mirror="$(apt_uri_for_suite bookworm)"
  [[ -n "$mirror" ]] || fail "no Debian bookworm archive (component main) in /etc/apt/sources.list*"
  security="$(apt_uri_for_suite bookworm-security)"
  log "debootstrap --variant=minbase bookworm from $mirror"
  rootfs="$work/rootfs"
  if ! debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1; then
    tail -20 "$work/debootstrap.log" >&2
    fail "debootstrap"
  fi
  # The image's apt reads the same archive (and its security archive, when this machine has
  # one), so the Dockerfile's apt-get works inside the build as it does here.
  {
    printf 'Types: deb\nURIs: %s\nSuites: bookworm bookworm-updates\nComponents: main\n' "$mirror"
    printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
    if [[ -n "$security" ]]; then
      printf '\nTypes: deb\nURIs: %s\nSuites: bookworm-security\nComponents: main\n' "$security"
      printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
    fi
  } >"$rootfs/etc/apt/sources.list.d/debian.sources"
  rm -f "$rootfs/etc/apt/sources.list"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | podman import - "$base_image" >/dev/null
  made_base=1
  rm -rf "$rootfs"
  log "imported $base_image"
fi

# ---- 2. build -------------------------------------------------------------------------------
if [[ $build -eq 1 ]]; then
  if [[ -z "$context" ]]; then
    context="$work/context"
    mkdir -p "$context"
    git -C "$repo" archive HEAD | tar -C "$context" -x
    log "build context: the committed tree ($(git -C "$repo" rev-parse --short HEAD))"
  else
    log "build context: $context"
  fi
  log "podman build -t $image (compiles csml; several minutes on 2 cores)"
  build_started=$(date +%s)
  made_image=1
  # The build stage gets a tag of its own so that cleanup removes it (and the cached layers
  # under it) by name; the second build reuses its layers.
  for target in build runtime; do
    tag="$image"
    [[ $target == build ]] && tag="$image-build"
    if ! podman build --pull=never --isolation=chroot --format docker --target "$target" \
        --build-arg DEBIAN_IMAGE="$base_image" --build-arg BUILD_JOBS="$build_jobs" \
        -t "$tag" "$context" >>"$work/build.log" 2>&1; then
      tail -40 "$work/build.log" >&2
      fail "podman build --target $target"
    fi
  done
  log "built $image in $(( $(date +%s) - build_started ))s"
fi
podman image exists "$image" || fail "no image $image"

# ---- 3. the image's configuration -----------------------------------------------------------
inspect() { podman image inspect --format "$1" "$image"; }
user="$(inspect '{{.Config.User}}')"
workdir="$(inspect '{{.Config.WorkingDir}}')"
stop_signal="$(inspect '{{.Config.StopSignal}}')"
mapfile -t env_list < <(inspect '{{range .Config.Env}}{{println .}}{{end}}' | sed '/^$/d')
mapfile -t entrypoint < <(inspect '{{range .Config.Entrypoint}}{{println .}}{{end}}' | sed '/^$/d')
mapfile -t cmd < <(inspect '{{range .Config.Cmd}}{{println .}}{{end}}' | sed '/^$/d')
mapfile -t healthcheck < <(inspect '{{if .Config.Healthcheck}}{{range .Config.Healthcheck.Test}}{{println .}}{{end}}{{end}}' | sed '/^$/d')
# shellcheck disable=SC2016 # a Go template, not shell
ports="$(inspect '{{range $p, $_ := .Config.ExposedPorts}}{{$p}} {{end}}')"
model_dir=""
for kv in "${env_list[@]}"; do [[ "$kv" == MODEL_DIR=* ]] && model_dir="${kv#MODEL_DIR=}"; done

non_root_numeric() { [[ "$user" =~ ^[0-9]+(:[0-9]+)?$ && "${user%%:*}" != 0 ]]; }
healthcheck_on_healthz() { [[ "${healthcheck[0]:-}" == CMD-SHELL && "${healthcheck[1]:-}" == *"/healthz"* ]]; }
check "runs as a numeric non-root user ($user)" non_root_numeric
check "MODEL_DIR=/app/model_store" test "$model_dir" = /app/model_store
check "default command is csml serve --host 0.0.0.0 --port 8000 (${entrypoint[*]} ${cmd[*]})" \
  test "${entrypoint[*]##*/} ${cmd[*]}" = "csml serve --host 0.0.0.0 --port 8000"
check "exposes 8000/tcp" test "$ports" = "8000/tcp "
check "stop signal is SIGTERM" test "$stop_signal" = SIGTERM
check "has a HEALTHCHECK on /healthz" healthcheck_on_healthz

# ---- 4. the image's filesystem --------------------------------------------------------------
root="$work/root"
mkdir -p "$root"
container="$(podman create --no-healthcheck "$image")"
podman export "$container" | tar -C "$root" -x
podman rm "$container" >/dev/null
container=""
log "exported the image's filesystem ($(du -sh "$root" | cut -f1))"

no_compiler() {
  local t
  for t in cc c++ gcc g++ clang cmake ld as make; do
    if [[ -e "$root/usr/bin/$t" ]]; then echo "  found /usr/bin/$t" >&2; return 1; fi
  done
}
check "the runtime stage has no compiler or build tool" no_compiler
libraries_resolve() {
  local out
  out="$(chroot "$root" /usr/bin/ldd "${entrypoint[0]}")" || return 1
  if grep -q 'not found' <<<"$out"; then grep 'not found' <<<"$out" >&2; return 1; fi
}
check "every shared library of ${entrypoint[0]} resolves in the image (ldd)" libraries_resolve

uid="${user%%:*}"
gid="${user#*:}"
models="$work/model_store"
mkdir -p "$models"
chown "$uid:$gid" "$models"

# Runs argv as the image would under deploy/kubernetes (readOnlyRootFilesystem): fresh
# namespaces, the image's filesystem read-only, a fresh /dev and /tmp, $models at MODEL_DIR
# (read-only when $1 is ro), chroot as the image's user, only the image's environment (the
# host tools this wrapper runs before chroot are found through the image's PATH or ours).
# shellcheck disable=SC2016 # expanded by the inner sh, from its arguments
inner='
set -e
root=$1 models=$2 mode=$3 model_dir=$4 user=$5 workdir=$6
shift 6
ip link set lo up
mount --make-rprivate /
mount --rbind "$root" "$root"
mount -o remount,bind,ro "$root"
mount -t tmpfs -o mode=755,nosuid tmpfs "$root/dev"
for d in null zero full random urandom tty; do
  : >"$root/dev/$d"
  mount --bind "/dev/$d" "$root/dev/$d"
done
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/tmp"
mount --bind "$models" "$root$model_dir"
if [ "$mode" = ro ]; then mount -o remount,bind,ro "$root$model_dir"; fi
exec chroot --userspec="$user" "$root" /usr/bin/env -C "$workdir" "$@"
'
# --kill-child: when unshare dies, the namespace's PID 1 (csml) dies with it.
image_command() {  # ro|rw, argv... -> the array image_cmd
  local mode="$1"; shift
  image_cmd=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    "${env_list[@]}" unshare --mount --pid --net --fork --kill-child --mount-proc="$root/proc"
    /bin/sh -c "$inner" sh "$root" "$models" "$mode" "$model_dir" "$user" "${workdir:-/}" "$@")
}
run_in_image() { image_command "$@"; "${image_cmd[@]}"; }

# ---- 5. train, serve, check, stop -----------------------------------------------------------
root_is_read_only() { ! run_in_image rw /bin/sh -c 'touch /app/probe' 2>/dev/null; }
check "the image's filesystem is read-only when run (as readOnlyRootFilesystem)" root_is_read_only
log "csml simulate + csml train inside the image, writing to the mounted model directory"
train_in_image() {
  run_in_image rw /bin/sh -c \
    'csml simulate --customers 400 --days 120 --seed 7 --out /tmp/snapshots.jsonl &&
     csml train --input /tmp/snapshots.jsonl --days 90' >"$work/train.log" 2>&1 ||
    { tail -20 "$work/train.log" >&2; return 1; }
}
check "csml train in the image publishes a model into the mounted directory" train_in_image
version="$(grep -o 'risk-xgb-[0-9-]*' "$models/SERVING" | head -n 1 || true)"
check "the registry names a served version ($version)" test -n "$version"
# As with the seed's `docker run -v $(pwd)/model_store:/app/model_store`, the directory now
# belongs to someone else (root here) and is mounted read-only: serving only reads it.
chown -R 0:0 "$models"

server_log="$work/serve.log"
# server_pid: unshare (env execs into it), in the host's PID namespace;
# server_child: its child, PID 1 of the new namespace, which becomes csml once the wrapper has
# mounted and chrooted (the comm check waits for that exec).
start_server() {  # [argv: the image's entrypoint and command by default]
  if [[ $# -eq 0 ]]; then set -- "${entrypoint[@]}" "${cmd[@]}"; fi
  image_command ro "$@"
  "${image_cmd[@]}" >"$server_log" 2>&1 &
  server_pid=$!
  server_child=""
  for _ in $(seq 1 100); do
    server_child="$(awk '{print $1}' "/proc/$server_pid/task/$server_pid/children" 2>/dev/null || true)"
    if [[ -n "$server_child" && "$(cat "/proc/$server_child/comm" 2>/dev/null)" == csml ]]; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}
# Runs a command on the host inside the server's network namespace (curl lives on both sides).
in_net() { nsenter --target "$server_child" --net "$@"; }
# The image's own HEALTHCHECK, as an engine runs it: /bin/sh -c in the container as its user.
healthcheck_passes() {
  nsenter --target "$server_child" --net --mount --root --wd --setuid "$uid" --setgid "$gid" \
    /bin/sh -c "${healthcheck[1]}" >/dev/null 2>&1
}
healthcheck_fails() { ! healthcheck_passes; }
wait_listening() {
  for _ in $(seq 1 100); do
    if in_net curl -s -o /dev/null --max-time 1 http://127.0.0.1:8000/healthz; then return 0; fi
    kill -0 "$server_pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
stop_server() {  # SIGTERM as `docker stop` sends it; the exit code of csml (PID 1) must be 0
  kill -TERM "$server_child"
  exits_cleanly
}
exits_cleanly() {  # within 30 s of the SIGTERM
  local rc
  for _ in $(seq 1 300); do
    if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  if kill -0 "$server_pid" 2>/dev/null; then echo "  still running 30 s after SIGTERM" >&2; return 1; fi
  rc=0
  wait "$server_pid" || rc=$?
  server_pid=""
  if [[ $rc -ne 0 ]]; then echo "  exit code $rc" >&2; tail -5 "$server_log" >&2; return 1; fi
}

check "the default command starts as PID 1 of its namespace" start_server
check "csml serve listens on 0.0.0.0:8000 inside the image" wait_listening
check "the image's HEALTHCHECK passes with a model" healthcheck_passes

status_and_body() {  # method path [body] -> "STATUS BODY"
  local body_file="$work/body" status
  : >"$body_file"
  if [[ $# -ge 3 ]]; then
    status="$(in_net curl -s -o "$body_file" -w '%{http_code}' --max-time 5 -X "$1" \
      -H 'Content-Type: application/json' --data-binary "$3" "http://127.0.0.1:8000$2")"
  else
    status="$(in_net curl -s -o "$body_file" -w '%{http_code}' --max-time 5 -X "$1" \
      "http://127.0.0.1:8000$2")"
  fi
  echo "$status $(cat "$body_file")"
}
expect() {  # response, extended regex
  if [[ "$1" =~ $2 ]]; then return 0; fi
  echo "  got: $1" >&2
  echo "  expected to match: $2" >&2
  return 1
}
check "GET /healthz -> 200 ok with the trained version" \
  expect "$(status_and_body GET /healthz)" "^200 \{\"ok\":true,\"modelVersion\":\"$version\""
check "GET /readyz -> 200" expect "$(status_and_body GET /readyz)" '^200 '
readme_request='{"userId":"u_001","features":{"activity_7d":2,"activity_30d":6,"time_since_last_use_days":15,"failed_renewals_30d":1,"tickets_7d":0,"plan_value":49,"region":"IN","usage_score":0.2}}'
check "POST /score -> 200 risk, tier, the README's reasons, the version" \
  expect "$(status_and_body POST /score "$readme_request")" \
  "^200 \{\"risk\":(0(\.[0-9]{1,4})?|1(\.0+)?),\"tier\":\"(low|medium|high)\",\"reasons\":\[\"inactive_14d\",\"payment_issue_recent\",\"low_feature_usage\"\],\"modelVersion\":\"$version\"\}$"
check "POST /score without usage_score -> 422 value_error.missing" \
  expect "$(status_and_body POST /score '{"userId":"u_2","features":{"activity_7d":2,"activity_30d":6,"time_since_last_use_days":15,"failed_renewals_30d":1,"tickets_7d":0,"plan_value":49,"region":"IN"}}')" \
  '^422 \{"detail":\[\{"loc":\["body","features","usage_score"\],"msg":"field required","type":"value_error.missing"\}\]\}$'

# Hot reload, as on Kubernetes: another container (the training job) publishes into the shared
# directory; the serving one, with the directory read-only, picks the new version up itself.
chown -R "$uid:$gid" "$models"
publish_second_model() {
  run_in_image rw /bin/sh -c \
    'csml simulate --customers 300 --days 120 --seed 8 --out /tmp/snapshots.jsonl &&
     csml train --input /tmp/snapshots.jsonl --days 60 --force' >"$work/train2.log" 2>&1 ||
    { tail -20 "$work/train2.log" >&2; return 1; }
}
check "a second csml train (--force) publishes and promotes a new version" publish_second_model
version2="$(grep -o 'risk-xgb-[0-9-]*' "$models/SERVING" | head -n 1 || true)"
reloaded() {
  [[ -n "$version2" && "$version2" != "$version" ]] || { echo "  SERVING names $version2" >&2; return 1; }
  for _ in $(seq 1 100); do
    if [[ "$(status_and_body GET /healthz)" == "200 {\"ok\":true,\"modelVersion\":\"$version2\""* ]]; then
      return 0
    fi
    sleep 0.1
  done
  echo "  still $(status_and_body GET /healthz) after 10 s" >&2
  return 1
}
check "the running server reloads $version2 on its own within 10 s" reloaded
check "POST /score answers with the new version" \
  expect "$(status_and_body POST /score "$readme_request")" "^200 .*\"modelVersion\":\"$version2\"\}$"
check "SIGTERM stops csml serve with exit code 0" stop_server
log_tells_stop() { grep -q "received SIGTERM" "$server_log" && grep -q "stopped" "$server_log"; }
check "the log tells the SIGTERM and the clean stop" log_tells_stop

# ---- 6. the Kubernetes Deployment's command ------------------------------------------------
# A fresh deployment: the registry is empty, the replica runs but is not ready; the training
# job publishes the first model and the replica becomes ready by itself; on SIGTERM it fails
# /readyz while it keeps answering for the drain (--drain-delay-ms), then exits 0.
mapfile -t deployment_args < <(awk '/^ *args:$/ { on = 1; next }
  on && /^ *- / { sub(/^ *- /, ""); print; next }
  on { exit }' "$repo/deploy/kubernetes/deployment.yaml")
log "the Deployment's command (csml ${deployment_args[*]}) on an empty model directory"
check "deployment.yaml runs csml serve" test "${deployment_args[0]:-}" = serve
find "$models" -mindepth 1 -delete
check "the Deployment's command starts without a model" \
  start_server "${entrypoint[@]}" "${deployment_args[@]}"
check "csml serve listens without a model" wait_listening
check "GET /healthz -> 503 without a model" \
  expect "$(status_and_body GET /healthz)" '^503 \{"ok":false'
check "GET /readyz -> 503 without a model (no traffic for it)" \
  expect "$(status_and_body GET /readyz)" '^503 \{"ready":false'
check "the image's HEALTHCHECK fails without a model" healthcheck_fails
check "the training job publishes the first model" train_in_image
becomes_ready() {
  for _ in $(seq 1 100); do
    [[ "$(status_and_body GET /readyz)" == "200 "* ]] && return 0
    sleep 0.1
  done
  echo "  still $(status_and_body GET /readyz) after 10 s" >&2
  return 1
}
check "the replica becomes ready by itself within 10 s" becomes_ready
drains() {  # SIGTERM, then /readyz 503 while POST /score still answers 200
  kill -TERM "$server_child"
  local ready score
  for _ in $(seq 1 20); do
    ready="$(status_and_body GET /readyz)"
    [[ "$ready" == "503 "* ]] && break
    sleep 0.1
  done
  score="$(status_and_body POST /score "$readme_request")"
  [[ "$ready" == "503 "* && "$score" == "200 "* ]] ||
    { echo "  /readyz: $ready; /score: $score" >&2; return 1; }
}
check "SIGTERM: /readyz turns 503 while POST /score still answers (the drain)" drains
check "after the drain it exits with code 0" exits_cleanly
