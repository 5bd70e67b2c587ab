#!/usr/bin/env bash
# Run the core tests (the library and the CLI on the embedded stores, no emulator) on every
# checked Python this machine has besides .venv's own, each in its own environment from uv.lock
# under .cache/pythons/. The classifiers claim exactly CHECKED (tests/test_packaging.py);
# ruff and mypy target the lowest. A checked version this machine lacks fails CI (CI=true) and is
# only named elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
export UV_PYTHON_DOWNLOADS=never
UV="${UV:-$(command -v uv || echo .tools/bin/uv)}"  # as scripts/test.sh finds it
CHECKED="3.10 3.11 3.12 3.13"
# Slow, time-based files (test_demo, test_multiprocess_sqlite), those needing the dev or docs
# group or the cloud SDKs (test_cloud_smoke_args, test_docs_site, test_otel: the OpenTelemetry
# SDK) and the tests that want the providers installed run on .venv's Python only.
CORE_TESTS=$(ls tests/test_*.py |
  grep -v -E 'test_(adapters_web|packaging|docs_site|demo|multiprocess_sqlite|cloud_smoke_args|async_providers|otel)\.py')
NEEDS_PROVIDERS=(
  --deselect tests/test_urls.py::test_installed_schemes_include_the_embedded_ones_and_the_providers
  --deselect tests/test_import_cost.py::test_a_provider_adds_only_its_own_modules_to_its_sdk
)

find_python() {  # an interpreter of version $1 that runs, or nothing
  local candidate
  for candidate in "$(command -v "python$1" || true)" "/usr/bin/python$1" \
    "${PYENV_ROOT:-${HOME:-/root}/.pyenv}"/versions/"$1".*/bin/"python$1"; do
    if [ -x "$candidate" ] && "$candidate" -c 'import sys' >/dev/null 2>&1; then
      echo "$candidate"
      return
    fi
  done
}

own=$(.venv/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
for version in $CHECKED; do
  [ "$version" = "$own" ] && continue
  python=$(find_python "$version")
  if [ -z "$python" ]; then
    if [ "${CI:-}" = "true" ]; then  # the classifiers would claim a version nothing checked
      echo "== Python $version is not on this machine: install it, or drop it from CHECKED and" \
        "from the classifiers (pyproject.toml of cloudlease and providers/*)" >&2
      exit 1
    fi
    echo "== core tests on Python $version: not on this machine, skipped (CI fails instead)"
    continue
  fi
  echo "== core tests on Python $version ($python)"
  env="$PWD/.cache/pythons/$version"
  UV_PROJECT_ENVIRONMENT="$env" "$UV" sync --locked --quiet --python "$python" \
    --no-default-groups --group test-core
  "$env/bin/python" -m pytest -q -p no:cacheprovider $CORE_TESTS "${NEEDS_PROVIDERS[@]}"
done
