#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang, ASan and UBSan (in build/fuzz) and runs
# each for CSML_FUZZ_SECONDS seconds (default 15) on its seed corpus fuzz/corpus/<name>/ plus
# what earlier runs found (build/fuzz/corpus/). Fails when a target finds a crash, a leak,
# undefined behaviour or a broken invariant; the input is saved in build/fuzz/findings/.
# Usage: scripts/fuzz.sh [target ...]   (default: every target)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${CSML_FUZZ_SECONDS:-15}"
build=build/fuzz
all=(score_request_fuzzer batch_score_request_fuzzer forest_loader_fuzzer model_meta_fuzzer)
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then targets=("${all[@]}"); fi

CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCSML_FUZZ=ON -DCSML_BUILD_TESTS=OFF \
  -DCSML_BUILD_BENCH=OFF -DCSML_WERROR=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target "${targets[@]}" -- -j"${CSML_JOBS:-$(nproc)}"

status=0
for target in "${targets[@]}"; do
  name="${target%_fuzzer}"
  seeds="fuzz/corpus/$name"
  corpus="$build/corpus/$name"
  findings="$build/findings/$name/"
  mkdir -p "$corpus" "$findings"
  echo "== fuzz $target for ${seconds}s (seeds: $(ls "$seeds" | wc -l))"
  if ! ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
      UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      "$build/fuzz/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$findings" -print_final_stats=1 "$corpus" "$seeds" \
      >"$build/$name.log" 2>&1; then
    echo "fuzz: $target failed; its input is in $findings, the log in $build/$name.log:"
    tail -60 "$build/$name.log"
    status=1
  else
    grep -E '^(stat::number_of_executed_units|stat::new_units_added|stat::peak_rss_mb)' "$build/$name.log" || true
  fi
done
exit $status
