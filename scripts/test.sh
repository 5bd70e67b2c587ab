#!/usr/bin/env bash
# Install everything the tests need (a uv-managed .venv, the emulators) and run them all:
# ruff, mypy --strict, then pytest. Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
export UV_PYTHON_DOWNLOADS=never

# uv: the one on PATH, or a private copy bootstrapped with this machine's Python.
if command -v uv >/dev/null 2>&1; then
  UV=uv
else
  if [ ! -x .tools/bin/uv ]; then
    python3 -m venv .tools
    .tools/bin/pip install --quiet --disable-pip-version-check "uv>=0.5,<1"
  fi
  UV=.tools/bin/uv
fi

"$UV" sync --locked --all-packages --all-extras --quiet
bash scripts/emulators.sh
UV="$UV" bash scripts/tools.sh

echo "== ruff"
"$UV" run --no-sync ruff check .
"$UV" run --no-sync ruff format --check .
echo "== mypy --strict"
"$UV" run --no-sync mypy
UV="$UV" bash scripts/wheels.sh
UV="$UV" bash scripts/pythons.sh
echo "== pytest"
set +e
"$UV" run --no-sync pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure here" >&2
  exit 1
fi
exit "$status"
