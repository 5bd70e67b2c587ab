#!/usr/bin/env bash
# Install the emulators the tests start (idempotent, pinned). The fixtures start and stop them.
set -euo pipefail
cd "$(dirname "$0")/.."
# Nothing yet: the provider issues add Azurite (npm) and check for the Firestore emulator here.
