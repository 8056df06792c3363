#!/usr/bin/env bash
# The README's test command: installs what is missing, checks formatting and the module
# boundaries, builds, and runs every test; then runs the whole suite again under
# AddressSanitizer + UndefinedBehaviorSanitizer, the serving, reload, prediction-log and HTTP server tests under
# ThreadSanitizer, and fuzzes the request decoders and model loaders for a bounded time.
# Switches: CSML_SKIP_ASAN=1, CSML_SKIP_TSAN=1 and CSML_SKIP_FUZZ=1 skip a pass;
# CSML_FUZZ_SECONDS=N fuzzes N seconds per target (default 15, four targets); CSML_TIDY=1 runs
# clang-tidy too (CI does).
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

if [[ "${CSML_SKIP_TSAN:-0}" != "1" ]]; then
  echo "== ThreadSanitizer build: serving, reload and the HTTP server"
  scripts/build.sh tsan csml serving_test monitoring_test e2e_test
  # XGBoost's OpenMP runtime (libgomp) is not instrumented: tests/tsan.supp names it, nothing else.
  export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/tests/tsan.supp"
  build/tsan/tests/unit/serving/serving_test --gtest_brief=1
  build/tsan/tests/unit/monitoring/monitoring_test --gtest_brief=1
  build/tsan/tests/e2e/e2e_test --gtest_brief=1
  unset TSAN_OPTIONS
fi

if [[ "${CSML_SKIP_FUZZ:-0}" != "1" ]]; then
  echo "== libFuzzer targets (clang, ASan + UBSan), ${CSML_FUZZ_SECONDS:-15} s each"
  CSML_FUZZ_SECONDS="${CSML_FUZZ_SECONDS:-15}" scripts/fuzz.sh
fi
