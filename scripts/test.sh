#!/usr/bin/env bash
# The README's test command: installs what is missing, checks formatting and the module
# boundaries, builds, and runs every test; then runs the whole suite again under
# AddressSanitizer + UndefinedBehaviorSanitizer, and fuzzes the request decoders and model
# loaders for a bounded time. Set CSML_SKIP_ASAN=1 to skip the second pass, CSML_SKIP_FUZZ=1 to
# skip fuzzing, CSML_FUZZ_SECONDS=N for N seconds per fuzz target (default 15, four targets),
# CSML_TIDY=1 to run clang-tidy too (CI does).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/lint.sh
jobs="${CSML_JOBS:-$(nproc)}"

echo "== release build and tests"
scripts/build.sh release
if [[ "${CSML_TIDY:-0}" == "1" ]]; then scripts/tidy.sh build/release; fi
ctest --preset release -j "$jobs"

if [[ "${CSML_SKIP_ASAN:-0}" != "1" ]]; then
  echo "== ASan + UBSan build and tests"
  scripts/build.sh asan
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --preset asan -j "$jobs" -LE image
fi

if [[ "${CSML_SKIP_FUZZ:-0}" != "1" ]]; then
  echo "== libFuzzer targets (clang, ASan + UBSan), ${CSML_FUZZ_SECONDS:-15} s each"
  CSML_FUZZ_SECONDS="${CSML_FUZZ_SECONDS:-15}" scripts/fuzz.sh
fi
