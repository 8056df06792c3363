#!/usr/bin/env bash
# Installs the Debian 12 packages csml needs to build, test and benchmark.
# Idempotent: when every package is already present it changes nothing and exits 0.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates curl
  libxgboost-dev xgboost libsimdjson-dev libcurl4-openssl-dev libcli11-dev libspdlog-dev libfmt-dev
  libexpected-dev libh2o-evloop-dev libssl-dev zlib1g-dev libuv1-dev libwslay-dev
  libzstd-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-format clang-tidy python3
  clang libclang-rt-14-dev
  chromium
)
# Optional extras: load-test and benchmark tools (bench/), not needed to build or test.
if [[ "${CSML_INSTALL_BENCH:-0}" == "1" ]]; then
  packages+=(wrk nginx-light)
fi
# Optional extras: build and test the container image without a Docker engine (deploy/).
if [[ "${CSML_INSTALL_DEPLOY:-0}" == "1" ]]; then
  packages+=(podman debootstrap)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} packages present"
else
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm packages (tools/npm: Swagger UI for GET /docs, the OpenAPI validator, playwright-core).
"$(dirname "$0")/install-npm.sh"
