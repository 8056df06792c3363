#!/usr/bin/env bash
# The README's run command: installs what is missing, builds, creates demo data, trains a
# model on it and serves POST /score on port 8000 (override with PORT=...).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release csml
csml=build/release/apps/cli/csml
mkdir -p demo
if [[ ! -s demo/snapshots.jsonl ]]; then
  "$csml" simulate --customers 2000 --days 180 --seed 42 --out demo/snapshots.jsonl
fi
export MODEL_DIR="${MODEL_DIR:-$PWD/model_store}"
if ! "$csml" models list >/dev/null 2>&1 || [[ -z "$("$csml" models list 2>/dev/null | grep risk-)" ]]; then
  "$csml" train --input demo/snapshots.jsonl --days 90
fi
# Every score goes to the prediction log (docs/MONITORING.md); CSML_PREDICTION_LOG=off turns it off.
export CSML_PREDICTION_LOG="${CSML_PREDICTION_LOG:-$PWD/demo/predictions}"
exec "$csml" serve --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}"
