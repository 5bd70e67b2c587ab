#!/usr/bin/env bash
# Install the tools the tests run besides Python packages (idempotent, pinned).
set -euo pipefail
cd "$(dirname "$0")/.."
