#!/usr/bin/env bash
# Install the tools the tests run besides Python packages (idempotent, pinned).
#
# checkov (tests/terraform) pins many packages of its own, so it lives in its own uv tool
# environment under .cache/ (gitignored), never in the project's .venv:
#   .cache/bin/checkov
set -euo pipefail
cd "$(dirname "$0")/.."

UV="${UV:-uv}"
CHECKOV_VERSION=3.3.30

export UV_TOOL_DIR="$PWD/.cache/uv-tools"
export UV_TOOL_BIN_DIR="$PWD/.cache/bin"
if [ "$(.cache/bin/checkov --version 2>/dev/null || true)" != "$CHECKOV_VERSION" ]; then
  "$UV" tool install --quiet --force "checkov==${CHECKOV_VERSION}"
fi
