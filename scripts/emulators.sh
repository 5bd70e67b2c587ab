#!/usr/bin/env bash
# Install the emulators the tests start (idempotent, pinned). The fixtures start and stop them.
set -euo pipefail
cd "$(dirname "$0")/.."

# Azurite (Azure Blob emulator), pinned, into the repo: tests/azure_blob/conftest.py starts
# .cache/azurite/node_modules/.bin/azurite-blob on a free loopback port per test session.
AZURITE_VERSION=3.35.0
if [ ! -x .cache/azurite/node_modules/.bin/azurite-blob ]; then
  if command -v npm >/dev/null 2>&1; then
    npm install --prefix .cache/azurite --no-audit --no-fund --loglevel=error \
      "azurite@${AZURITE_VERSION}"
  else
    echo "emulators.sh: npm not found; Azurite not installed (azure_blob tests will skip or fail)" >&2
  fi
fi
