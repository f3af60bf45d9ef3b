#!/usr/bin/env bash
# Install everything the test suite needs, then run it. `.ci/run` calls exactly this.
#   ./scripts/test.sh            # the whole suite
#   ./scripts/test.sh -k config  # extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
python -m pip install --quiet -e '.[test]'

# The example web app: typescript, vite, react, tanstack query, openapi-typescript (pinned in its lockfile)
npm ci --prefix examples/farm-app/apps/web --no-audit --no-fund --loglevel=error

# Headless Chromium for the end-to-end tests (Debian's package; Playwright drives it, no browser download)
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || echo "warning: could not install chromium; browser tests will be skipped" >&2
  else
    echo "warning: chromium is not installed (sudo apt-get install -y chromium); browser tests will be skipped" >&2
  fi
fi

exec python -m pytest "$@"
