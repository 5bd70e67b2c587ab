#!/usr/bin/env bash
# Build the sdist and wheel of every distribution (cloudlease and providers/*), check their
# metadata (twine check: what a package index renders), install the wheels (not editable) into
# a fresh venv with the locked dependency versions, and run against the installed packages:
# `cloudlease --version`, the conformance suite on the embedded stores and the CLI smoke tests.
# The cloud stores' conformance runs against the workspace in the main pytest run.
set -euo pipefail
cd "$(dirname "$0")/.."
export UV_PYTHON_DOWNLOADS=never
UV="${UV:-$(command -v uv || echo .tools/bin/uv)}"  # as scripts/test.sh finds it
work="$PWD/.cache/wheels"
rm -rf "$work"
mkdir -p "$work/tests"

echo "== uv build (every distribution)"
"$UV" build --all-packages --quiet --out-dir "$work/dist"
ls "$work/dist"
[ "$(ls "$work"/dist/*.whl | wc -l)" -eq 6 ] && [ "$(ls "$work"/dist/*.tar.gz | wc -l)" -eq 6 ]
"$UV" run --no-sync twine check --strict "$work"/dist/*
"$UV" run --no-sync python - "$work"/dist/* <<'PY'  # the license is in every artifact
import sys, tarfile, zipfile
for path in sys.argv[1:]:
    if path.endswith(".whl"):
        with zipfile.ZipFile(path) as wheel:
            names = wheel.namelist()
            meta = wheel.read(next(n for n in names if n.endswith(".dist-info/METADATA")))
        assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), path
        assert b"\nLicense-Expression: Apache-2.0\n" in meta, path
    else:
        with tarfile.open(path) as sdist:
            assert any(n.count("/") == 1 and n.endswith("/LICENSE") for n in sdist.getnames()), path
print("LICENSE and License-Expression: Apache-2.0 in all", len(sys.argv) - 1, "artifacts")
PY

echo "== install the wheels into a fresh venv"
"$UV" export --quiet --frozen --all-packages --all-extras --no-emit-workspace --no-hashes \
  --no-default-groups --group test-core -o "$work/constraints.txt"
"$UV" venv --quiet --python .venv/bin/python "$work/venv"
"$UV" pip install --quiet --python "$work/venv/bin/python" -c "$work/constraints.txt" \
  "$work"/dist/*.whl pytest pytest-timeout

# The tests run from a copy, so that nothing imports the source tree: only the wheels.
cp pyproject.toml "$work/"
cp tests/__init__.py tests/conftest.py tests/helpers.py tests/test_conformance_embedded.py \
  tests/test_cli.py "$work/tests/"
cd "$work"
venv/bin/python -c 'import cloudlease, sys; sys.exit("/site-packages/" not in cloudlease.__file__)'
venv/bin/cloudlease --version
[ "$(venv/bin/cloudlease --version | wc -l)" -eq 6 ]
venv/bin/python -m pytest -q -p no:cacheprovider tests
