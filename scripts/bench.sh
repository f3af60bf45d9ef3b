#!/usr/bin/env bash
# Install what the benchmark needs, then run it:  ./scripts/bench.sh [--sizes 50,500] [--edits 10]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
. .venv/bin/activate
python -m pip install --quiet -e '.[test]'
npm ci --prefix examples/farm-app/apps/web --no-audit --no-fund --loglevel=error
exec python -m bench "$@"
